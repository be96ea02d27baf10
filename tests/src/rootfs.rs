//! A test image without a registry: a static busybox root file system as a tar, for `docker import`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::RunCommand;

/// The busybox binary the rootfs is made of (Debian's `busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// The applets linked in `/bin`.
const APPLETS: &[&str] = &[
    "sh", "ls", "echo", "cat", "true", "false", "sleep", "id", "pwd", "env", "dd", "head", "tail",
    "mkdir", "touch", "grep", "wc", "seq", "printf", "kill",
];

/// Why busybox rootfs tests cannot run here, if they cannot.
pub fn missing_busybox() -> Option<String> {
    (!Path::new(BUSYBOX).exists())
        .then(|| format!("{BUSYBOX} is missing (apt-get install busybox-static)"))
}

/// Writes `<dir>/rootfs.tar`: busybox and its applets in `/bin`, `/etc/passwd` and `/etc/group` with
/// `root`, `app` (1000) and `nobody`, `/etc/hello` ("hi"), and an empty `/tmp`.
pub fn busybox_tar(dir: &Path) -> Result<PathBuf> {
    let root = dir.join("rootfs");
    for sub in ["bin", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).context("copying busybox")?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))?;
    }
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n",
    )?;
    std::fs::write(root.join("etc/hello"), "hi\n")?;
    let tar = dir.join("rootfs.tar");
    RunCommand::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .run()?
        .ok()?;
    Ok(tar)
}
