//! Prints the content box (and tags) a full scan pass finds in each file, one JSON line each.
//!
//! `cargo run --release -p reelguard-pipeline --example content_boxes -- FILE...`

use reelguard_media::{fingerprint_file, Options};
use reelguard_pipeline::{content_box, content_tags};

fn main() {
    // The scan's full pass: default options with picture-in-picture detection.
    let options = Options {
        detect_insets: true,
        ..Options::default()
    };
    for file in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(file);
        let line = match fingerprint_file(&path, &options, &|_| {}) {
            Ok(fingerprint) => {
                let content = content_box(&fingerprint);
                serde_json::json!({
                    "file": path.display().to_string(),
                    "content": content,
                    "tags": content_tags(&content),
                })
            }
            Err(e) => {
                serde_json::json!({"file": path.display().to_string(), "error": e.to_string()})
            }
        };
        println!("{line}");
    }
}
