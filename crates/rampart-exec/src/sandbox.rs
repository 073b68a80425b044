//! The crate's only `unsafe` code: the syscalls that put a step's process in
//! its own namespaces, and signals to its process group, behind a safe API.
//!
//! [`Hook`] runs in the child between `fork` and `exec` (std's `pre_exec`),
//! where only async-signal-safe calls are allowed: everything it needs (paths,
//! map contents, the shared report page) is allocated before the fork, and the
//! hook itself calls only raw syscalls.
//!
//! With PID and mount namespaces the child becomes three processes:
//!
//! ```text
//! rampart ─ P (host PID ns, step's process group, ignores SIGTERM; waits for I)
//!             └─ I (PID 1 of the new PID ns: mounts /proc, reaps orphans)
//!                  └─ S (PID 2: execs the interpreter; gets SIGTERM normally)
//! ```
//!
//! When S ends, I exits with S's status and the kernel kills whatever is left
//! in the namespace; P then exits the same way, so rampart sees S's exit code
//! or signal as P's. SIGKILL to the group kills P and I (a SIGKILL from an
//! ancestor namespace always reaches a namespace's init), and with I the whole
//! namespace. Each of P, I and S has `PR_SET_PDEATHSIG(SIGKILL)` on its parent.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

/// Which namespaces to create for one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isolation {
    /// New PID and mount namespaces, with a fresh `/proc`.
    pub pid_mount: bool,
    /// A new network namespace with only `lo`, brought up.
    pub network: bool,
}

impl Isolation {
    pub(crate) const NONE: Isolation = Isolation {
        pid_mount: false,
        network: false,
    };
}

/// The set-up operation the child was doing; gives an errno its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    NotStarted,
    Unshare,
    UserMap,
    Fork,
    MountPrivate,
    MountProc,
    Loopback,
    Exec,
}

impl Stage {
    const ALL: [Stage; 8] = [
        Stage::NotStarted,
        Stage::Unshare,
        Stage::UserMap,
        Stage::Fork,
        Stage::MountPrivate,
        Stage::MountProc,
        Stage::Loopback,
        Stage::Exec,
    ];

    fn code(self) -> i32 {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(0) as i32
    }

    fn from_code(code: i32) -> Stage {
        usize::try_from(code)
            .ok()
            .and_then(|i| Stage::ALL.get(i).copied())
            .unwrap_or(Stage::NotStarted)
    }

    /// Whether the failure happened while building the sandbox (as opposed
    /// to before it, e.g. `chdir`, or after it, when exec'ing the interpreter).
    pub(crate) fn is_sandbox(self) -> bool {
        !matches!(self, Stage::NotStarted | Stage::Exec)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::NotStarted => "preparing the child process",
            Stage::Unshare => "creating the namespaces (unshare)",
            Stage::UserMap => "writing the user namespace's uid/gid maps",
            Stage::Fork => "forking the namespace's init process",
            Stage::MountPrivate => "making mounts private in the new mount namespace",
            Stage::MountProc => "mounting a fresh /proc in the new PID namespace",
            Stage::Loopback => "bringing up `lo` in the new network namespace",
            Stage::Exec => "starting the interpreter",
        })
    }
}

/// A failed attempt to build the sandbox: which step, and the OS error.
#[derive(Debug)]
pub(crate) struct SandboxError {
    pub stage: Stage,
    pub error: io::Error,
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.stage, self.error)
    }
}

/// One page of `MAP_SHARED` memory the child processes write to and the
/// parent reads: the set-up stage reached, and the signal that killed S.
struct SharedPage {
    ptr: *mut AtomicI32,
}

const PAGE_LEN: usize = 4096;
const SLOT_STAGE: usize = 0;
const SLOT_SIGNAL: usize = 1;

// SAFETY: the page is only accessed through `AtomicI32`s, which are safe to
// share between threads (and processes); the pointer is never reassigned.
unsafe impl Send for SharedPage {}
// SAFETY: as above, all access is atomic.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    fn new() -> io::Result<SharedPage> {
        // SAFETY: an anonymous shared mapping with no address hint touches no
        // existing memory; the result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                PAGE_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedPage {
            ptr: ptr.cast::<AtomicI32>(),
        })
    }

    fn slot(&self, index: usize) -> &AtomicI32 {
        debug_assert!(index < 2);
        // SAFETY: the mapping is PAGE_LEN bytes, zero-filled, page-aligned and
        // lives as long as `self`; index 0 and 1 are within it, and a zeroed
        // i32 is a valid AtomicI32.
        unsafe { &*self.ptr.add(index) }
    }

    fn set_stage(&self, stage: Stage) {
        self.slot(SLOT_STAGE).store(stage.code(), Ordering::SeqCst);
    }

    fn stage(&self) -> Stage {
        Stage::from_code(self.slot(SLOT_STAGE).load(Ordering::SeqCst))
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from a successful mmap of PAGE_LEN bytes and no
        // reference into it outlives `self`.
        unsafe {
            libc::munmap(self.ptr.cast(), PAGE_LEN);
        }
    }
}

/// Contents for `/proc/self/{uid_map,gid_map}` when rampart is not root:
/// the step keeps its own uid and gid inside a new user namespace.
#[derive(Clone)]
struct UserMaps {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

/// The code run in the child before `exec`, and what it reports back.
#[derive(Clone)]
pub(crate) struct Hook {
    isolation: Isolation,
    user: Option<UserMaps>,
    parent: libc::pid_t,
    page: Arc<SharedPage>,
}

impl Hook {
    pub(crate) fn new(isolation: Isolation) -> io::Result<Hook> {
        // SAFETY: geteuid/getegid cannot fail and have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let needs_user_ns = uid != 0 && (isolation.pid_mount || isolation.network);
        let user = needs_user_ns.then(|| UserMaps {
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
        });
        Ok(Hook {
            isolation,
            user,
            // SAFETY: getpid cannot fail.
            parent: unsafe { libc::getpid() },
            page: Arc::new(SharedPage::new()?),
        })
    }

    /// Makes `command` run this hook in the child before exec'ing.
    pub(crate) fn install(&self, command: &mut Command) {
        let hook = self.clone();
        // SAFETY: `Hook::child` only makes async-signal-safe calls (raw
        // syscalls, atomics on the pre-mapped page, reads of data allocated
        // before the fork) and allocates nothing; processes it forks never
        // return into std's post-fork code except the one that goes on to exec.
        unsafe {
            command.pre_exec(move || hook.child());
        }
    }

    /// Turns a spawn error into what it means, using the stage the child reached.
    pub(crate) fn explain(&self, error: io::Error) -> SandboxError {
        SandboxError {
            stage: self.page.stage(),
            error,
        }
    }

    /// Runs in the forked child (P). Returns `Ok` in the process that must exec.
    fn child(&self) -> io::Result<()> {
        let page = &*self.page;
        reset_signals();
        set_parent_death_signal();
        // SAFETY: getppid cannot fail.
        if unsafe { libc::getppid() } != self.parent {
            // rampart died between fork and prctl: nobody will supervise us.
            exit_now(127);
        }
        let isolation = self.isolation;
        if isolation == Isolation::NONE {
            page.set_stage(Stage::Exec);
            return Ok(());
        }

        page.set_stage(Stage::Unshare);
        let mut flags = 0;
        if isolation.pid_mount {
            flags |= libc::CLONE_NEWPID | libc::CLONE_NEWNS;
        }
        if isolation.network {
            flags |= libc::CLONE_NEWNET;
        }
        if self.user.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        // SAFETY: unshare only changes this (single-threaded) process's namespaces.
        check(unsafe { libc::unshare(flags) })?;

        if let Some(maps) = &self.user {
            page.set_stage(Stage::UserMap);
            write_file(c"/proc/self/setgroups", b"deny")?;
            write_file(c"/proc/self/uid_map", &maps.uid_map)?;
            write_file(c"/proc/self/gid_map", &maps.gid_map)?;
        }

        if !isolation.pid_mount {
            if isolation.network {
                page.set_stage(Stage::Loopback);
                loopback_up()?;
            }
            page.set_stage(Stage::Exec);
            return Ok(());
        }

        page.set_stage(Stage::Fork);
        let init = fork()?;
        if init != 0 {
            self.wait_for_init(init);
        }

        // I: PID 1 of the new PID namespace.
        set_parent_death_signal();
        page.set_stage(Stage::MountPrivate);
        // SAFETY: changes propagation of the mounts of this process's own new
        // mount namespace; all pointers are static C strings or null.
        check(unsafe {
            libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                ptr::null(),
            )
        })?;
        page.set_stage(Stage::MountProc);
        // SAFETY: mounts a proc filesystem for the new PID namespace over
        // /proc in this process's own private mount namespace.
        check(unsafe {
            libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                ptr::null(),
            )
        })?;
        if isolation.network {
            page.set_stage(Stage::Loopback);
            loopback_up()?;
        }
        page.set_stage(Stage::Fork);
        let step = fork()?;
        if step == 0 {
            // S: goes on to exec the interpreter.
            set_parent_death_signal();
            page.set_stage(Stage::Exec);
            return Ok(());
        }
        self.run_init(step)
    }

    /// P: waits for I and exits the way S did. Never returns.
    fn wait_for_init(&self, init: libc::pid_t) -> ! {
        close_inherited_fds();
        // The group's SIGTERM is meant for the step (S); P must outlive it
        // to report S's status. SIGKILL still ends P (and so the namespace).
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: setting a disposition to SIG_IGN is async-signal-safe.
            unsafe {
                libc::signal(signal, libc::SIG_IGN);
            }
        }
        let status = wait_for(init);
        if libc::WIFSIGNALED(status) {
            die_by_signal(libc::WTERMSIG(status));
        }
        let signal = self.page.slot(SLOT_SIGNAL).load(Ordering::SeqCst);
        if signal != 0 {
            die_by_signal(signal);
        }
        exit_now(libc::WEXITSTATUS(status))
    }

    /// I: reaps every process of the namespace until S ends, then exits with
    /// S's status (which ends the namespace). Never returns.
    fn run_init(&self, step: libc::pid_t) -> ! {
        close_inherited_fds();
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes only to `status`, a valid local.
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid == step {
                if libc::WIFSIGNALED(status) {
                    let signal = libc::WTERMSIG(status);
                    self.page.slot(SLOT_SIGNAL).store(signal, Ordering::SeqCst);
                    exit_now(128 + signal);
                }
                exit_now(libc::WEXITSTATUS(status));
            }
            if pid < 0 && errno() != libc::EINTR {
                exit_now(127);
            }
        }
    }
}

/// Probes whether namespaces for `isolation` can be created here, by running
/// `/bin/sh -c :` through the same hook a step uses.
pub(crate) fn probe(isolation: Isolation) -> Result<(), SandboxError> {
    let hook = Hook::new(isolation).map_err(|error| SandboxError {
        stage: Stage::NotStarted,
        error,
    })?;
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", ":"])
        .env_clear()
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    hook.install(&mut command);
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(SandboxError {
            stage: hook.page.stage(),
            error: io::Error::other(format!("the probe process ended with {status}")),
        }),
        Err(error) => Err(hook.explain(error)),
    }
}

/// Signals the executor sends to a step's process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupSignal {
    Terminate,
    Kill,
}

/// Sends `signal` to every process in process group `pgid`. A group that no
/// longer exists is not an error.
pub(crate) fn signal_group(pgid: u32, signal: GroupSignal) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid)
        .ok()
        .filter(|p| *p > 1)
        .ok_or_else(|| io::Error::other(format!("refusing to signal process group {pgid}")))?;
    let signal = match signal {
        GroupSignal::Terminate => libc::SIGTERM,
        GroupSignal::Kill => libc::SIGKILL,
    };
    // SAFETY: killpg has no memory-safety preconditions; pgid > 1 was checked
    // so this never targets our own group (0) or init (1).
    if unsafe { libc::killpg(pgid, signal) } == 0 || errno() == libc::ESRCH {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// ---- helpers for the child: async-signal-safe, allocation-free ----

fn errno() -> i32 {
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process without running any user-space
    // destructors or atexit handlers, which is what a forked child must do.
    unsafe { libc::_exit(code) }
}

fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: called in a single-threaded child (after std's fork), so the
    // new process inherits a consistent state; both sides are handled by callers.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid)
    }
}

/// Resets every signal to its default action and unblocks all signals, so
/// the step does not inherit rampart's handlers, ignores or mask.
fn reset_signals() {
    // SAFETY: sigemptyset/sigprocmask only touch the local set; signal() with
    // SIG_DFL is async-signal-safe. SIGKILL/SIGSTOP are skipped (EINVAL).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut());
        for signal in 1..32 {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
    }
}

fn set_parent_death_signal() {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and has no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
}

fn wait_for(pid: libc::pid_t) -> libc::c_int {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`, a valid local.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        if r < 0 && errno() != libc::EINTR {
            exit_now(127);
        }
    }
}

/// Ends this process by `signal`, the way S ended, so rampart's wait sees it.
fn die_by_signal(signal: libc::c_int) -> ! {
    // SAFETY: all calls take plain values or valid locals; raising a signal
    // with its default action ends the process (no core: RLIMIT_CORE is 0).
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        libc::kill(libc::getpid(), signal);
    }
    // Not a terminating signal (cannot happen for a signal that ended S).
    exit_now(128 + signal)
}

/// Closes every descriptor above stderr, in particular std's CLOEXEC error
/// pipe, which P and I would otherwise hold open (making spawn wait for them).
fn close_inherited_fds() {
    // SAFETY: close_range takes plain integers; closing descriptors this
    // process will never use again is harmless.
    let done = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } == 0;
    if !done {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only to `limit`, a valid local.
        let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            limit.rlim_cur.min(65_536) as libc::c_int
        } else {
            4096
        };
        for fd in 3..max {
            // SAFETY: closing an fd number that may or may not be open.
            unsafe {
                libc::close(fd);
            }
        }
    }
}

fn write_file(path: &CStr, data: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated; `data` is a valid slice; the fd is
    // closed on every path.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        let result = if written < 0 {
            Err(io::Error::last_os_error())
        } else if written as usize != data.len() {
            Err(io::Error::from_raw_os_error(libc::EIO))
        } else {
            Ok(())
        };
        libc::close(fd);
        result
    }
}

/// Sets IFF_UP on `lo` in this process's network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: the socket is closed on every path; `request` is a zeroed
    // ifreq (valid for this plain C struct) holding the name "lo".
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        request.ifr_name[0] = b'l' as libc::c_char;
        request.ifr_name[1] = b'o' as libc::c_char;
        let mut result = check(libc::ioctl(
            fd,
            libc::SIOCGIFFLAGS as libc::Ioctl,
            &mut request,
        ));
        if result.is_ok() {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = check(libc::ioctl(fd, libc::SIOCSIFFLAGS as libc::Ioctl, &request));
        }
        libc::close(fd);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_codes_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::from_code(stage.code()), stage);
        }
        assert_eq!(Stage::from_code(99), Stage::NotStarted);
        assert_eq!(Stage::from_code(-1), Stage::NotStarted);
    }

    #[test]
    fn signal_group_refuses_our_own_group_and_init() {
        assert!(signal_group(0, GroupSignal::Kill).is_err());
        assert!(signal_group(1, GroupSignal::Kill).is_err());
    }

    #[test]
    fn probing_without_isolation_succeeds() {
        probe(Isolation::NONE).unwrap();
    }
}
