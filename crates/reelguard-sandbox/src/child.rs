//! The worker side: lock the process down, then decode one file per request until the parent
//! hangs up.
//!
//! The decision that shaped it: **lockdown happens before the first byte of untrusted input
//! is read, and cannot be undone.** The worker starts with fd 3 (a Unix socket to the parent)
//! and closes everything else above stderr; sets its resource limits (address space, CPU
//! time, no file writes, no core dumps, few descriptors); restricts itself with Landlock (no
//! filesystem or TCP access at all) where the kernel has it; sets `PR_SET_NO_NEW_PRIVS`; and
//! installs the seccomp filter ([`crate::seccomp`]). Only then does it say [`Ready`] and
//! accept files, each as a descriptor passed with `SCM_RIGHTS` alongside its request.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use reelguard_media::Progress;

use crate::protocol::{
    encode, parse_header, Kind, Ready, Request, SelfCheck, TestHook, Usage, HEADER_LEN,
};
use crate::seccomp;
use crate::wire::{WireError, WireProgress, WireStill};

/// The descriptor the parent puts the worker's socket on.
pub(crate) const SOCKET_FD: RawFd = 3;
/// Name a worker gives its file in errors; the parent substitutes the real one.
const FILE_NAME: &str = "<worker input>";

/// The worker's limits, from its command line.
#[derive(Debug, Clone, Copy)]
struct WorkerConfig {
    memory_bytes: u64,
    cpu_seconds: u64,
    test_hooks: bool,
}

fn parse_args(args: &[String]) -> Result<WorkerConfig, String> {
    let mut config = WorkerConfig {
        memory_bytes: 2 << 30,
        cpu_seconds: 3600,
        test_hooks: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--memory-bytes" => config.memory_bytes = value(arg)?,
            "--cpu-seconds" => config.cpu_seconds = value(arg)?,
            "--test-hooks" => config.test_hooks = true,
            other => return Err(format!("unknown worker argument {other:?}")),
        }
    }
    Ok(config)
}

/// The entry point of `reelguard worker` (and of the `reelguard-sandbox-worker` binary):
/// `args` are the arguments after the subcommand. Started by [`crate::Sandbox`], never by
/// hand: it expects its socket on fd 3.
pub fn worker_main(args: &[String]) -> ExitCode {
    let config = match parse_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("reelguard worker: {e}");
            return ExitCode::from(2);
        }
    };
    let ready = match lockdown(&config) {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("reelguard worker: lockdown failed: {e}");
            return ExitCode::from(3);
        }
    };
    // SAFETY: the parent started us with our end of a socket pair on SOCKET_FD, and nothing
    // else in this process owns that descriptor.
    let socket = unsafe { UnixStream::from_raw_fd(SOCKET_FD) };
    if send_json(&socket, Kind::Ready, &ready).is_err() {
        return ExitCode::from(4);
    }
    loop {
        match receive(&socket) {
            Ok(Some((request, file))) => {
                if serve(&socket, request, file, &config).is_err() {
                    return ExitCode::from(4);
                }
            }
            // The parent hung up: a normal retirement.
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("reelguard worker: bad request: {e}");
                return ExitCode::from(5);
            }
        }
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> Result<(), String> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(format!(
            "setrlimit({resource}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn lockdown(config: &WorkerConfig) -> Result<Ready, String> {
    // SAFETY: plain system calls on this process; closing descriptors above 3 cannot break
    // Rust-owned handles because nothing has been opened yet.
    unsafe {
        libc::syscall(libc::SYS_close_range, SOCKET_FD as u32 + 1, u32::MAX, 0u32);
        // Few malloc arenas: each reserves 64 MiB of address space, which RLIMIT_AS counts.
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // Decoding yields to the daemon's HTTP side (nice +10 relative to it): under a crawl
        // burst accepting uploads comes first, and the queue drains in what is left. -1 is
        // also a valid answer of nice(), so the result is not an error signal; ignored.
        libc::nice(10);
    }
    set_limit(libc::RLIMIT_AS, config.memory_bytes, config.memory_bytes)?;
    // SIGXCPU at the soft limit (reported as `cpu_limit`), SIGKILL a second later.
    set_limit(
        libc::RLIMIT_CPU,
        config.cpu_seconds,
        config.cpu_seconds.saturating_add(1),
    )?;
    set_limit(libc::RLIMIT_FSIZE, 0, 0)?;
    set_limit(libc::RLIMIT_CORE, 0, 0)?;
    set_limit(libc::RLIMIT_NOFILE, 32, 32)?;
    // FFmpeg's one-time setup may touch things the filter forbids; do it while allowed.
    reelguard_media::init();
    let landlock = restrict_landlock();
    // SAFETY: prctl with constant arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("no_new_privs: {}", std::io::Error::last_os_error()));
    }
    seccomp::install().map_err(|e| e.to_string())?;
    Ok(Ready {
        landlock,
        seccomp: true,
    })
}

/// No filesystem access and no TCP at all (nothing is allowed: the worker opens nothing),
/// and no signals or abstract sockets outside the worker. Best effort: older kernels enforce
/// less, and the status says so.
fn restrict_landlock() -> String {
    use landlock::{Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, Scope, ABI};
    let abi = ABI::V6;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.restrict_self());
    match status {
        Ok(s) => match s.ruleset {
            RulesetStatus::FullyEnforced => "fully_enforced".to_string(),
            RulesetStatus::PartiallyEnforced => "partially_enforced".to_string(),
            RulesetStatus::NotEnforced => "not_enforced".to_string(),
        },
        Err(e) => format!("failed: {e}"),
    }
}

/// Reads one request and the descriptor attached to its first bytes. `Ok(None)` at a clean
/// end of stream.
fn receive(socket: &UnixStream) -> std::io::Result<Option<(Request, Option<File>)>> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    let mut file: Option<File> = None;
    while got < HEADER_LEN {
        let (n, fd) = recv_with_fd(SOCKET_FD, &mut header[got..])?;
        if let Some(fd) = fd {
            // A second descriptor is dropped (closed); only the first is the file.
            file.get_or_insert(File::from(fd));
        }
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += n;
    }
    let header = parse_header(&header).map_err(std::io::Error::other)?;
    if header.kind != Kind::Request {
        return Err(std::io::Error::other("not a request"));
    }
    let mut payload = vec![0u8; header.len as usize];
    (&*socket).read_exact(&mut payload)?;
    let request = serde_json::from_slice(&payload).map_err(std::io::Error::other)?;
    Ok(Some((request, file)))
}

/// `recvmsg` into `buf`, collecting at most one `SCM_RIGHTS` descriptor (others are closed).
fn recv_with_fd(socket: RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Option<OwnedFd>)> {
    // Room for a few descriptors, 8-byte aligned as cmsghdr requires.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    loop {
        // SAFETY: msghdr is plain data; all pointers it holds outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: a valid msghdr over live buffers.
        let n = unsafe { libc::recvmsg(socket, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut first = None;
        // SAFETY: walking the control messages the kernel wrote into `control`, with the
        // kernel's own lengths; each descriptor read is owned by us from here on.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
                    let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                    for i in 0..bytes / std::mem::size_of::<libc::c_int>() {
                        let fd = OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i)));
                        if first.is_none() {
                            first = Some(fd);
                        }
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        return Ok((n as usize, first));
    }
}

fn send(socket: &UnixStream, kind: Kind, payload: &[u8]) -> std::io::Result<()> {
    (&*socket).write_all(&encode(kind, payload))
}

fn send_json<T: serde::Serialize>(
    socket: &UnixStream,
    kind: Kind,
    value: &T,
) -> std::io::Result<()> {
    let payload = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    send(socket, kind, &payload)
}

fn usage() -> Usage {
    // SAFETY: getrusage fills the struct it is given.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu_s: seconds(raw.ru_utime) + seconds(raw.ru_stime),
        max_rss_kib: raw.ru_maxrss.max(0) as u64,
    }
}

fn serve(
    socket: &UnixStream,
    request: Request,
    file: Option<File>,
    config: &WorkerConfig,
) -> std::io::Result<()> {
    let name = Path::new(FILE_NAME);
    let no_file = || WireError::InvalidRequest {
        reason: "no file descriptor attached".to_string(),
    };
    let error = |e: &reelguard_media::MediaError| WireError::new(e, config.memory_bytes);
    match request {
        Request::Fingerprint(wire) => {
            let options = wire.options();
            let progress = |p: Progress| {
                // Progress is best effort; a broken socket shows on the result.
                let _ = send_json(socket, Kind::Progress, &WireProgress::new(p));
            };
            let result = match file {
                Some(file) => reelguard_media::fingerprint_fd(file, name, &options, &progress)
                    .map_err(|e| error(&e)),
                None => Err(no_file()),
            };
            send(socket, Kind::Usage, &usage().encode())?;
            match result {
                Ok(fingerprint) => send_json(socket, Kind::Fingerprint, &fingerprint),
                Err(e) => send_json(socket, Kind::Error, &e),
            }
        }
        Request::Still {
            at_s,
            max_side,
            options,
        } => {
            let limits = options.options().limits;
            let result = match file {
                Some(file) => {
                    reelguard_media::extract_still_fd(file, name, at_s, max_side, &limits)
                        .map_err(|e| error(&e))
                }
                None => Err(no_file()),
            };
            send(socket, Kind::Usage, &usage().encode())?;
            match result {
                Ok(image) => send(socket, Kind::Still, &WireStill::encode(&image)),
                Err(e) => send_json(socket, Kind::Error, &e),
            }
        }
        Request::SelfCheck => send_json(socket, Kind::SelfCheck, &self_check()),
        Request::TestHook(hook) if config.test_hooks => run_hook(hook),
        Request::TestHook(_) => send_json(
            socket,
            Kind::Error,
            &WireError::InvalidRequest {
                reason: "test hooks are disabled".to_string(),
            },
        ),
    }
}

/// Tries what the sandbox must refuse and reports each outcome.
fn self_check() -> SelfCheck {
    let outcome = |ret: libc::c_long| {
        if ret < 0 {
            format!("refused: {}", std::io::Error::last_os_error())
        } else {
            "ALLOWED".to_string()
        }
    };
    let mut results = Vec::new();
    // SAFETY: each call either fails (the point) or creates a descriptor closed at once; the
    // execve argument vectors are valid and NULL-terminated.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        results.push(("socket(AF_INET)".to_string(), outcome(fd as libc::c_long)));
        if fd >= 0 {
            libc::close(fd);
        }
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        results.push(("socket(AF_UNIX)".to_string(), outcome(fd as libc::c_long)));
        if fd >= 0 {
            libc::close(fd);
        }
        let fd = libc::open(c"/etc/passwd".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        results.push(("open(/etc/passwd)".to_string(), outcome(fd as libc::c_long)));
        if fd >= 0 {
            libc::close(fd);
        }
        let argv = [c"/bin/true".as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null()];
        let ret = libc::execve(c"/bin/true".as_ptr(), argv.as_ptr(), envp.as_ptr());
        results.push((
            "execve(/bin/true)".to_string(),
            outcome(ret as libc::c_long),
        ));
        let ret = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        results.push((
            "mmap(PROT_EXEC)".to_string(),
            outcome(if ret == libc::MAP_FAILED { -1 } else { 0 }),
        ));
        let ret = libc::kill(1, 0);
        results.push(("kill(1)".to_string(), outcome(ret as libc::c_long)));
    }
    SelfCheck { results }
}

fn run_hook(hook: TestHook) -> std::io::Result<()> {
    match hook {
        TestHook::Abort => std::process::abort(),
        TestHook::Hang => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        TestHook::Spin => {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        TestHook::AllocationBomb => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Touched, so it is real memory, not just address space.
                hoard.push(vec![1u8; 64 << 20]);
                std::hint::black_box(&hoard);
            }
        }
    }
}
