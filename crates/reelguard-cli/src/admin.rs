//! `reelguard admin ...`: offline administration of members and API keys, straight on the
//! store in the data directory (safe while the daemon runs: SQLite serialises the writers).
//! Every change is written to the audit log as done by `cli:$USER`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use reelguard_store::prelude::*;
use reelguard_store::{AuditEntry, Role, SqliteStore};
use serde_json::json;

use crate::checks::existing_store;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an API key and print it on stdout (it is stored only as a hash and cannot be shown
    /// again). The member must exist, unless --create-member is given.
    CreateKey {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Member name.
        #[arg(long)]
        member: String,
        /// admin, member, crawler or reviewer.
        #[arg(long)]
        role: String,
        /// Print a JSON object (key, id, member, role) instead of the bare key.
        #[arg(long)]
        json: bool,
        /// Create the member (and, on a new machine, the data directory) if it does not exist.
        #[arg(long)]
        create_member: bool,
    },
    /// Create a member (and, on a new machine, the data directory).
    CreateMember {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Member name.
        name: String,
    },
    /// List members (JSON lines).
    ListMembers {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// List API keys (JSON lines; prefixes only, never the keys).
    ListKeys {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Revoke an API key by id.
    RevokeKey {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Key id (see list-keys).
        id: i64,
    },
}

/// Opens the store of a data directory, which may be created only if `create` (a mistyped
/// `--data` must not start an empty database).
fn open(data: &Path, create: bool) -> anyhow::Result<SqliteStore> {
    if !create {
        existing_store(data)?;
    }
    SqliteStore::open_in(data).with_context(|| format!("opening the store in {}", data.display()))
}

fn audit(store: &SqliteStore, action: &str, target: String) -> anyhow::Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_string());
    store
        .audit(&AuditEntry {
            actor: format!("cli:{user}"),
            action: format!("admin {action}"),
            target,
            ..AuditEntry::default()
        })
        .context("writing the audit log")?;
    Ok(())
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::CreateKey {
            data,
            member,
            role,
            json,
            create_member,
        } => {
            let role: Role = role.parse().map_err(|_| {
                anyhow::anyhow!("unknown role {role:?} (admin, member, crawler or reviewer)")
            })?;
            let store = open(&data, create_member)?;
            let member = if create_member {
                store.ensure_member(&member)?
            } else {
                store.member_by_name(&member)?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "no member {member:?} in {} (see `reelguard admin list-members`; \
                         pass --create-member to create it)",
                        data.display()
                    )
                })?
            };
            let (info, key) = store.create_key(member.id, role)?;
            audit(
                &store,
                "create-key",
                format!("key {} member {} role {role}", info.id, member.name),
            )?;
            if json {
                println!(
                    "{}",
                    json!({"key": key, "id": info.id, "member": member.name, "role": role})
                );
            } else {
                println!("{key}");
            }
        }
        Command::CreateMember { data, name } => {
            let store = open(&data, true)?;
            let member = store.create_member(&name)?;
            audit(&store, "create-member", format!("member {}", member.id))?;
            println!("{}", serde_json::to_string(&member)?);
        }
        Command::ListMembers { data } => {
            for member in open(&data, false)?.members()? {
                println!("{}", serde_json::to_string(&member)?);
            }
        }
        Command::ListKeys { data } => {
            for key in open(&data, false)?.keys()? {
                println!("{}", serde_json::to_string(&key)?);
            }
        }
        Command::RevokeKey { data, id } => {
            let store = open(&data, false)?;
            store.revoke_key(id)?;
            audit(&store, "revoke-key", format!("key {id}"))?;
            println!("{}", json!({"id": id, "revoked": true}));
        }
    }
    Ok(ExitCode::SUCCESS)
}
