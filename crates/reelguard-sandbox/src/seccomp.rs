//! The worker's seccomp-BPF filter: the system calls decoding needs, and nothing else.
//!
//! The decision that shaped it: **an allow-list whose default answer is EPERM**, compiled by
//! `seccompiler` (Firecracker's filter compiler) rather than hand-written BPF. EPERM rather
//! than a kill for everything unlisted, because glibc and FFmpeg probe for optional features
//! (CPU counts from sysfs, `statx`) and cope with a refusal; what would let a compromised
//! decoder reach anything — sockets, `execve`, opening any path, `ptrace`, new executable
//! mappings — is refused all the same. The list was found by running the worker under
//! `strace -f` on the fixtures (full and key-frame decodes, stills, threaded decoding; see
//! `examples/overhead.rs`): a decode uses `pread64`, `mmap`/`munmap`/`mprotect`/`madvise`,
//! `brk`, `futex`, `clone` and the thread start-up calls, `sendto`/`recvfrom`/`recvmsg` on
//! its socket, `newfstatat` and `close` on its file, `getrusage`; the rest covers `abort()`,
//! sleeping and Rust's runtime. Refusals seen in the trace, all harmless: `statx` (std falls
//! back to `fstat`) and glibc's read of `/proc/sys/vm/overcommit_memory`.
//!
//! Arguments are checked where it matters: `mmap`/`mprotect` never with `PROT_EXEC`, `clone`
//! only for threads, `newfstatat` only on a descriptor (`AT_EMPTY_PATH`), `tgkill` for
//! `abort()`. `clone3`, whose flags sit behind a pointer BPF cannot read, answers ENOSYS so
//! glibc falls back to `clone`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Why the filter could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("seccomp: {0}")]
pub struct SeccompError(String);

fn error(e: impl std::fmt::Display) -> SeccompError {
    SeccompError(e.to_string())
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// Calls allowed with any arguments.
const ALWAYS: &[libc::c_long] = &[
    // I/O on descriptors the worker already holds.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_recvmsg,
    libc::SYS_recvfrom,
    // Memory.
    libc::SYS_brk,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    // Threads and their synchronisation (FFmpeg's frame and slice threads).
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_gettid,
    libc::SYS_getpid,
    libc::SYS_exit,
    libc::SYS_exit_group,
    // Signals (Rust's stack-overflow handler, abort()).
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    // Time (the vDSO covers most of it) and randomness (hash map seeds).
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getrandom,
    // Resource use reported with each result.
    libc::SYS_getrusage,
    // Answered with ENOSYS by the second filter (see the module doc).
    libc::SYS_clone3,
];

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SeccompError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(error)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SeccompError> {
    SeccompRule::new(conditions).map_err(error)
}

/// The allow-list filter (default EPERM) and the `clone3` → ENOSYS filter.
fn programs() -> Result<(BpfProgram, BpfProgram), SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        ALWAYS.iter().map(|&call| (call, Vec::new())).collect();
    let no_exec = || {
        rule(vec![condition(
            2,
            SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64),
            0,
        )?])
    };
    rules.insert(libc::SYS_mmap, vec![no_exec()?]);
    rules.insert(libc::SYS_mprotect, vec![no_exec()?]);
    let thread = libc::CLONE_THREAD as u64;
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![condition(
            0,
            SeccompCmpOp::MaskedEq(thread),
            thread,
        )?])?],
    );
    let empty_path = libc::AT_EMPTY_PATH as u64;
    rules.insert(
        libc::SYS_newfstatat,
        vec![rule(vec![condition(
            3,
            SeccompCmpOp::MaskedEq(empty_path),
            empty_path,
        )?])?],
    );
    // Rust writes to its socket with send(): only on a connected socket, never to an address.
    rules.insert(
        libc::SYS_sendto,
        vec![rule(vec![condition(4, SeccompCmpOp::Eq, 0)?])?],
    );
    // abort() signals its own thread; nothing else may be signalled.
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u64;
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![condition(0, SeccompCmpOp::Eq, pid)?])?],
    );
    let allow = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        ARCH,
    )
    .map_err(error)?;
    let clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        ARCH,
    )
    .map_err(error)?;
    Ok((
        allow.try_into().map_err(error)?,
        clone3.try_into().map_err(error)?,
    ))
}

/// Installs both filters on the calling thread (the worker is single-threaded when it does,
/// and threads started later inherit them). `PR_SET_NO_NEW_PRIVS` must be set already.
pub fn install() -> Result<(), SeccompError> {
    let (allow, clone3) = programs()?;
    // The allow-list last: installing a filter takes `prctl` and `seccomp`, which it forbids.
    seccompiler::apply_filter(&clone3).map_err(error)?;
    seccompiler::apply_filter(&allow).map_err(error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_filters_compile_for_this_architecture() {
        let (allow, clone3) = super::programs().expect("filters compile");
        assert!(allow.len() > super::ALWAYS.len());
        assert!(!clone3.is_empty());
    }
}
