//! The container workloads' image, without a registry: a rootfs tar of the host's static busybox as
//! `/bin/busybox` with the applets the workloads run as symlinks to it. Each daemon imports the same bytes
//! (`POST /images/create?fromSrc=-`), so both run the same image.

use std::path::Path;

use anyhow::{Context, Result};
use wharf_tests::RunCommand;

/// Where busybox-static puts its binary.
const BUSYBOX: &str = "/bin/busybox";

/// The applets linked in `/bin`.
const APPLETS: &[&str] = &["sh", "true", "false", "echo", "sleep", "cat", "yes", "head"];

/// Builds the rootfs under `dir` and returns the tar's bytes (about 2 MB).
pub fn busybox_tar(dir: &Path) -> Result<Vec<u8>> {
    anyhow::ensure!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} is missing (apt-get install busybox-static, or run `cargo xtask setup`)"
    );
    let root = dir.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    std::fs::copy(BUSYBOX, bin.join("busybox")).context("copying busybox into the rootfs")?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet))
            .with_context(|| format!("linking /bin/{applet}"))?;
    }
    let tar = dir.join("rootfs.tar");
    RunCommand::new("tar")
        .args(["--owner=0", "--group=0", "--numeric-owner", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .run()?
        .ok()
        .context("tar of the busybox rootfs")?;
    std::fs::read(&tar).with_context(|| format!("reading {}", tar.display()))
}
