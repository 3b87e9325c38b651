//! Candidate retrieval: a tantivy index used as a multi-index-hashing LSH table.
//!
//! # Format (catalogue format 2, directory `bands/`)
//! One tantivy document per registered episode, with two fields:
//! - `term` (bytes, indexed, multi-valued): one term per distinct LSH term among the
//!   episode's usable frames, as its signal type states them
//!   (`reelguard_hash::SignalType::lsh_terms`; for the video pHash, its four 16-bit bands),
//!   each **prefixed with the signal's name**: `<name> '/' <term as u64 BE>`. `/` cannot occur
//!   in a name, so the prefix is unambiguous and a second signal's terms never meet video's;
//! - `episode` (u64, indexed + fast): the catalogue's episode id, to map hits back and to
//!   delete the document when the episode is withdrawn.
//!
//! Format 1 (directory `index/`) had a u64 `band` field holding video's bands unprefixed;
//! the migration rebuilds it into `bands/` ([`crate::migrate`]).
//!
//! A posting list is then "the episodes that contain a frame with this band value", and its
//! length is the document frequency an IDF weight needs. Frame positions are not indexed:
//! alignment reads the full sequence from the catalogue, so the index stays a few bytes per
//! frame. Postings are read directly (`read_postings`), which for this access pattern — many
//! single-term lookups, no scoring — is far cheaper than tantivy's query layer.
//!
//! Adding an episode adds one document; nothing is rebuilt. The commit payload carries the
//! catalogue generation (see [`crate::catalogue`]).

use std::collections::HashMap;
use std::path::Path;

use tantivy::directory::MmapDirectory;
use tantivy::schema::{Field, IndexRecordOption, Schema, FAST, INDEXED};
use tantivy::{
    DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
    TERMINATED,
};

use reelguard_model::SignalName;

use crate::IndexError;

/// The indexed bytes of one signal's LSH term: the signal's name, `/`, the term big-endian.
pub fn term_bytes(signal: SignalName, term: u64) -> Vec<u8> {
    let name = signal.as_str().as_bytes();
    let mut bytes = Vec::with_capacity(name.len() + 9);
    bytes.extend_from_slice(name);
    bytes.push(b'/');
    bytes.extend_from_slice(&term.to_be_bytes());
    bytes
}

/// Indexing memory budget of the one writer thread.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

/// The tantivy side of the catalogue.
pub(crate) struct BandIndex {
    index: Index,
    reader: IndexReader,
    writer: Option<IndexWriter>,
    term: Field,
    episode: Field,
    /// Postings and doc → episode maps of the searcher in force, rebuilt only when the reader
    /// reloads: building it reads every document's episode id, too much to do per query.
    snapshot: std::sync::Arc<Snapshot>,
}

fn tantivy_error(e: impl std::fmt::Display) -> IndexError {
    IndexError::Tantivy(e.to_string())
}

impl BandIndex {
    pub(crate) fn open(dir: &Path, writable: bool) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut builder = Schema::builder();
        let term = builder.add_bytes_field("term", INDEXED);
        let episode = builder.add_u64_field("episode", INDEXED | FAST);
        let schema = builder.build();
        let directory = MmapDirectory::open(dir).map_err(tantivy_error)?;
        let index = Index::open_or_create(directory, schema).map_err(tantivy_error)?;
        let writer = if writable {
            // One indexing thread: documents are small, and the matcher wants the other core.
            Some(
                index
                    .writer_with_num_threads(1, WRITER_MEMORY)
                    .map_err(tantivy_error)?,
            )
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_error)?;
        let snapshot = std::sync::Arc::new(Snapshot::build(&reader, term)?);
        Ok(BandIndex {
            index,
            reader,
            writer,
            term,
            episode,
            snapshot,
        })
    }

    /// The catalogue generation of the last commit (0 for a new index).
    pub(crate) fn generation(&self) -> Result<u64, IndexError> {
        let metas = self.index.load_metas().map_err(tantivy_error)?;
        Ok(parse_generation(metas.payload.as_deref()))
    }

    fn writer(&mut self) -> Result<&mut IndexWriter, IndexError> {
        self.writer.as_mut().ok_or(IndexError::ReadOnly)
    }

    /// Adds an episode's document: its distinct LSH terms of `signal`.
    pub(crate) fn add_episode(
        &mut self,
        id: u64,
        signal: SignalName,
        terms: impl Iterator<Item = u64>,
    ) -> Result<(), IndexError> {
        self.add_episode_signals(id, &[(signal, terms.collect())])
    }

    /// Adds an episode's one document: its distinct LSH terms of every signal it has, each
    /// prefixed by the signal's name.
    pub(crate) fn add_episode_signals(
        &mut self,
        id: u64,
        signals: &[(SignalName, Vec<u64>)],
    ) -> Result<(), IndexError> {
        let (field, episode) = (self.term, self.episode);
        let mut doc = TantivyDocument::default();
        doc.add_u64(episode, id);
        for (signal, terms) in signals {
            let mut terms = terms.clone();
            terms.sort_unstable();
            terms.dedup();
            for term in terms {
                doc.add_bytes(field, &term_bytes(*signal, term));
            }
        }
        self.writer()?.add_document(doc).map_err(tantivy_error)?;
        Ok(())
    }

    pub(crate) fn delete_episode(&mut self, id: u64) -> Result<(), IndexError> {
        let term = Term::from_field_u64(self.episode, id);
        self.writer()?.delete_term(term);
        Ok(())
    }

    /// The commit point of a catalogue operation.
    pub(crate) fn commit(&mut self, generation: u64) -> Result<(), IndexError> {
        let writer = self.writer()?;
        let mut prepared = writer.prepare_commit().map_err(tantivy_error)?;
        prepared.set_payload(&generation.to_string());
        prepared.commit().map_err(tantivy_error)?;
        self.reload()?;
        Ok(())
    }

    /// Merges every segment into one. Each lookup probes every segment's term dictionary, so
    /// a catalogue built from many small commits answers several times slower until merged.
    /// The merged segment replaces the others atomically, keeping the commit payload.
    pub(crate) fn compact(&mut self) -> Result<(), IndexError> {
        // tantivy's own merge policy may be merging some segments in the background, and a
        // merge naming a segment that is being merged away is refused: let those finish (which
        // consumes the writer), then merge what is left with a fresh writer.
        let writer = self.writer.take().ok_or(IndexError::ReadOnly)?;
        writer.wait_merging_threads().map_err(tantivy_error)?;
        let mut writer: IndexWriter = self
            .index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(tantivy_error)?;
        let segments = self.index.searchable_segment_ids().map_err(tantivy_error)?;
        let merged = if segments.len() > 1 {
            writer
                .merge(&segments)
                .wait()
                .map(|_| ())
                .map_err(tantivy_error)
        } else {
            Ok(())
        };
        self.writer = Some(writer);
        merged?;
        self.reload()?;
        Ok(())
    }

    /// Drops changes not yet committed (after a failed operation).
    pub(crate) fn rollback(&mut self) -> Result<(), IndexError> {
        if let Some(writer) = self.writer.as_mut() {
            writer.rollback().map_err(tantivy_error)?;
        }
        Ok(())
    }

    fn reload(&mut self) -> Result<(), IndexError> {
        self.reader.reload().map_err(tantivy_error)?;
        self.snapshot = std::sync::Arc::new(Snapshot::build(&self.reader, self.term)?);
        Ok(())
    }

    /// The snapshot for lookups, as of the last commit.
    pub(crate) fn snapshot(&self) -> std::sync::Arc<Snapshot> {
        self.snapshot.clone()
    }

    /// Bytes the index takes on disk.
    pub(crate) fn disk_bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// A consistent view of the postings, with each segment's doc → episode map. Holds the
/// searcher it was built from, which pins those segments: a merge or a deletion committed
/// later neither removes their files nor changes what this view answers.
pub(crate) struct Snapshot {
    _searcher: Searcher,
    term: Field,
    segments: Vec<(std::sync::Arc<tantivy::InvertedIndexReader>, Vec<u64>)>,
    documents: u64,
}

impl Snapshot {
    fn build(reader: &IndexReader, term: Field) -> Result<Snapshot, IndexError> {
        let searcher = reader.searcher();
        let mut segments = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment
                .fast_fields()
                .u64("episode")
                .map_err(tantivy_error)?;
            let episodes: Vec<u64> = (0..segment.max_doc())
                .map(|doc| {
                    if segment.is_deleted(doc) {
                        u64::MAX
                    } else {
                        column.first(doc).unwrap_or(u64::MAX)
                    }
                })
                .collect();
            let postings = segment.inverted_index(term).map_err(tantivy_error)?;
            segments.push((postings, episodes));
        }
        let documents = searcher.num_docs();
        Ok(Snapshot {
            _searcher: searcher,
            term,
            segments,
            documents,
        })
    }

    /// Number of index segments (each lookup visits all of them).
    pub(crate) fn segments(&self) -> usize {
        self.segments.len()
    }

    /// Number of live episode documents.
    pub(crate) fn documents(&self) -> u64 {
        self.documents
    }

    /// Episodes whose frames contain this LSH term of `signal`.
    pub(crate) fn episodes_with(
        &self,
        signal: SignalName,
        term: u64,
        out: &mut Vec<u64>,
    ) -> Result<(), IndexError> {
        out.clear();
        let term = Term::from_field_bytes(self.term, &term_bytes(signal, term));
        for (postings, episodes) in &self.segments {
            let Some(mut list) = postings
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(tantivy_error)?
            else {
                continue;
            };
            let mut doc = list.doc();
            while doc != TERMINATED {
                if let Some(&episode) = episodes.get(doc as usize) {
                    if episode != u64::MAX {
                        out.push(episode);
                    }
                }
                doc = list.advance();
            }
        }
        Ok(())
    }
}

/// Per-query cache of one signal's posting lists: a suspect's frames repeat band values a
/// lot.
pub(crate) struct PostingCache<'a> {
    snapshot: &'a Snapshot,
    signal: SignalName,
    cache: HashMap<u64, Vec<u64>>,
}

impl<'a> PostingCache<'a> {
    pub(crate) fn new(snapshot: &'a Snapshot, signal: SignalName) -> Self {
        PostingCache {
            snapshot,
            signal,
            cache: HashMap::new(),
        }
    }

    /// Distinct terms looked up so far.
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn episodes(&mut self, term: u64) -> Result<&[u64], IndexError> {
        if !self.cache.contains_key(&term) {
            let mut list = Vec::new();
            self.snapshot.episodes_with(self.signal, term, &mut list)?;
            self.cache.insert(term, list);
        }
        Ok(self.cache.get(&term).map_or(&[], |v| v.as_slice()))
    }
}

/// The catalogue generation a commit payload names; 0 for none, or for one this code did not
/// write (the manifest's recovery then refuses the mismatch as corruption rather than guess).
pub(crate) fn parse_generation(payload: Option<&str>) -> u64 {
    payload.and_then(|p| p.parse().ok()).unwrap_or(0)
}
