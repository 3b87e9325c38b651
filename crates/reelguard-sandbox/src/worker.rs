//! The parent's handle on one worker process: spawn it locked in, hand it a file, read its
//! answer under a watchdog, and when it dies, say why.
//!
//! The decision that shaped it: **a worker that misbehaves in any way is killed, reaped and
//! never reused**, and its failure is classified from what the kernel says (the signal, the
//! CPU it used) and what it managed to write on stderr — never from what a possibly
//! compromised worker claims about itself.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reelguard_media::{MediaError, Progress};

use crate::child::SOCKET_FD;
use crate::protocol::{
    decode_response, encode, split_frame, Kind, Ready, Request, Response, Usage,
};
use crate::SandboxConfig;

/// How long a fresh worker may take to lock down and say it is ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Stderr kept from a dead worker for its error message.
const STDERR_TAIL: usize = 1024;

/// One live worker.
pub(crate) struct Worker {
    child: Child,
    socket: UnixStream,
    stderr: Option<ChildStderr>,
    /// Requests served.
    pub served: u32,
    /// Resource use the worker last reported.
    pub usage: Usage,
    /// What lockdown achieved.
    pub ready: Ready,
}

/// How a request ended when it did not end with an answer.
pub(crate) enum Failure {
    /// The worker was killed at the wall-clock deadline.
    Watchdog,
    /// The worker died (or hung up) on its own.
    Died,
    /// The request could not even be sent: the (idle) worker was already gone.
    Unsent,
    /// The worker sent something that is not the protocol.
    Protocol(String),
}

impl Worker {
    /// Starts a worker and waits for its [`Ready`].
    pub fn spawn(config: &SandboxConfig) -> std::io::Result<Worker> {
        let (socket, theirs) = UnixStream::pair()?;
        let their_fd = theirs.as_raw_fd();
        let mut command = Command::new(&config.worker_exe);
        command
            .args(&config.worker_args)
            .arg("--memory-bytes")
            .arg(config.memory_limit_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(config.cpu_limit.as_secs().max(1).to_string())
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if config.test_hooks {
            command.arg("--test-hooks");
        }
        // SAFETY: runs between fork and exec, where only async-signal-safe calls are allowed:
        // dup2 and fcntl are. Every other descriptor is close-on-exec, and the worker closes
        // anything above fd 3 that leaked anyway before reading input.
        unsafe {
            command.pre_exec(move || {
                if their_fd == SOCKET_FD {
                    if libc::fcntl(SOCKET_FD, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(their_fd, SOCKET_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        drop(theirs);
        let stderr = child.stderr.take();
        if let Some(stderr) = &stderr {
            // Non-blocking, so reading a dead worker's last words never waits.
            // SAFETY: fcntl on a descriptor we own.
            unsafe {
                let fd = stderr.as_raw_fd();
                let flags = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
        }
        let mut worker = Worker {
            child,
            socket,
            stderr,
            served: 0,
            usage: Usage::default(),
            ready: Ready {
                landlock: String::new(),
                seccomp: false,
            },
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        match worker.read_until_final(deadline, &|_| {}) {
            Ok(Response::Ready(ready)) => {
                worker.ready = ready;
                Ok(worker)
            }
            Ok(other) => Err(std::io::Error::other(format!(
                "worker started with {other:?} instead of ready"
            ))),
            Err(_) => {
                let tail = worker.stderr_tail();
                Err(std::io::Error::other(format!(
                    "worker did not start: {}",
                    tail.trim()
                )))
            }
        }
    }

    /// Sends `request` with `file` attached and returns the worker's final answer.
    pub fn call(
        &mut self,
        request: &Request,
        file: Option<BorrowedFd<'_>>,
        deadline: Instant,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Response, Failure> {
        let payload = serde_json::to_vec(request).map_err(|e| Failure::Protocol(e.to_string()))?;
        let frame = encode(Kind::Request, &payload);
        self.served += 1;
        send_with_fd(&self.socket, &frame, file).map_err(|_| Failure::Unsent)?;
        self.read_until_final(deadline, progress)
    }

    /// Reads frames until one that ends the request, passing progress on and noting usage.
    fn read_until_final(
        &mut self,
        deadline: Instant,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Response, Failure> {
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            while let Some((header, payload, used)) =
                split_frame(&buf).map_err(|e| Failure::Protocol(e.to_string()))?
            {
                let response = decode_response(header, payload)
                    .map_err(|e| Failure::Protocol(e.to_string()))?;
                buf.drain(..used);
                match response {
                    Response::Progress(p) => progress(p.progress()),
                    Response::Usage(usage) => self.usage = usage,
                    last => {
                        if !buf.is_empty() {
                            return Err(Failure::Protocol("bytes after the answer".to_string()));
                        }
                        return Ok(last);
                    }
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Failure::Watchdog);
            }
            self.socket
                .set_read_timeout(Some(remaining))
                .map_err(|_| Failure::Died)?;
            match (&self.socket).read(&mut chunk) {
                Ok(0) => return Err(Failure::Died),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Failure::Watchdog)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Failure::Died),
            }
        }
    }

    /// Kills (if still alive) and reaps the worker, returning how it ended and its stderr.
    pub fn kill(mut self) -> (Option<ExitStatus>, String) {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        let tail = self.stderr_tail();
        (status, tail)
    }

    /// Whatever the worker wrote on stderr, the last [`STDERR_TAIL`] bytes of it.
    fn stderr_tail(&mut self) -> String {
        let Some(stderr) = self.stderr.as_mut() else {
            return String::new();
        };
        let mut all = Vec::new();
        let mut chunk = [0u8; 4096];
        // Bounded: a worker cannot make the parent read forever.
        for _ in 0..64 {
            match stderr.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&chunk[..n]),
            }
        }
        let start = all.len().saturating_sub(STDERR_TAIL);
        String::from_utf8_lossy(&all[start..]).into_owned()
    }

    /// Discards what the worker wrote on stderr so far, logging it.
    pub fn drain_stderr(&mut self) {
        let tail = self.stderr_tail();
        if !tail.is_empty() {
            tracing::debug!(worker = self.child.id(), stderr = %tail.trim(), "worker stderr");
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Retired or abandoned: never leave a process or a zombie behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `frame`, attaching `file` (with `SCM_RIGHTS`) to its first byte.
fn send_with_fd(
    socket: &UnixStream,
    frame: &[u8],
    file: Option<BorrowedFd<'_>>,
) -> std::io::Result<()> {
    let Some(file) = file else {
        return (&*socket).write_all(frame);
    };
    let fd = file.as_raw_fd();
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: frame.as_ptr() as *mut libc::c_void,
        iov_len: frame.len(),
    };
    // SAFETY: msghdr is plain data; every pointer it holds outlives the call, and the control
    // buffer is large and aligned enough for one descriptor. A signal that interrupts the call
    // sent nothing: it is simply made again (not mistaken for a worker that died).
    let sent = loop {
        let sent = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd);
            libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
        };
        if sent >= 0 {
            break sent;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    };
    (&*socket).write_all(&frame[sent as usize..])
}

/// The error for a request that ended in `failure`, given how the worker ended.
pub(crate) fn classify(
    failure: &Failure,
    status: Option<ExitStatus>,
    stderr: &str,
    usage: Usage,
    path: &Path,
    config: &SandboxConfig,
    wall_limit: Duration,
) -> MediaError {
    let path = path.to_path_buf();
    let detail = match stderr.trim() {
        "" => String::new(),
        text => format!(": {text}"),
    };
    if let Failure::Watchdog = failure {
        return MediaError::Timeout {
            path,
            limit_s: wall_limit.as_secs_f64(),
        };
    }
    if let Failure::Protocol(reason) = failure {
        // A worker that stops speaking the protocol after reading a file was most likely
        // subverted by it: the file's fault, like a crash.
        return MediaError::Crashed {
            path,
            signal: 0,
            detail: format!(": protocol violation: {reason}"),
        };
    }
    let cpu_limit = config.cpu_limit.as_secs_f64();
    match status.and_then(|s| s.signal()) {
        Some(libc::SIGXCPU) => MediaError::CpuLimit {
            path,
            limit_s: cpu_limit,
        },
        // The hard CPU limit ends in SIGKILL too; so does the kernel's OOM killer.
        Some(libc::SIGKILL) if usage.cpu_s >= cpu_limit - 1.0 => MediaError::CpuLimit {
            path,
            limit_s: cpu_limit,
        },
        Some(libc::SIGABRT) if stderr.contains("memory allocation of") => MediaError::MemoryLimit {
            path,
            limit_bytes: config.memory_limit_bytes,
        },
        Some(signal) => MediaError::Crashed {
            path,
            signal,
            detail,
        },
        None => MediaError::Crashed {
            path,
            signal: 0,
            detail: format!(
                ": worker exited ({}){detail}",
                status.map_or("status unknown".to_string(), |s| s.to_string())
            ),
        },
    }
}
