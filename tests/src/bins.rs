//! Where the built `wharfd` and `wharf` binaries are: `WHARF_BIN_DIR`, else the cargo target profile
//! directory that the running executable lives in (`target/<profile>/deps/<test>` → `target/<profile>`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The environment variable that names the directory holding `wharfd` and `wharf`.
pub const BIN_DIR_ENV: &str = "WHARF_BIN_DIR";

/// A directory of built Wharf binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// `WHARF_BIN_DIR` when set, else the target profile directory of the running executable.
    pub fn locate() -> Result<Self> {
        if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
            return Ok(Self::in_dir(dir));
        }
        let exe = std::env::current_exe().context("finding the running executable")?;
        let mut dir = exe
            .parent()
            .context("the running executable has no parent directory")?;
        if dir.file_name().is_some_and(|name| name == "deps") {
            dir = dir.parent().context("`deps` has no parent directory")?;
        }
        Ok(Self::in_dir(dir))
    }

    /// Binaries in `dir`, e.g. `target/release`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory searched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `wharfd` binary, or an error saying how to build it.
    pub fn wharfd(&self) -> Result<PathBuf> {
        self.binary("wharfd")
    }

    /// The `wharf` binary, or an error saying how to build it.
    pub fn wharf(&self) -> Result<PathBuf> {
        self.binary("wharf")
    }

    fn binary(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        if !path.is_file() {
            bail!(
                "{} not found (searched {}, set {BIN_DIR_ENV} to override); \
                 run `cargo build -p wharf-daemon -p wharf-cli` first",
                name,
                self.dir.display()
            );
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_names_the_build_command() {
        let bins = Binaries::in_dir("/nonexistent-wharf-bin-dir");
        let err = bins.wharfd().unwrap_err().to_string();
        assert!(
            err.contains("cargo build -p wharf-daemon -p wharf-cli"),
            "{err}"
        );
        assert!(err.contains("/nonexistent-wharf-bin-dir"), "{err}");
    }

    #[test]
    fn locate_steps_out_of_deps() {
        // Unit tests run from target/<profile>/deps; the binaries are one level up.
        if std::env::var_os(BIN_DIR_ENV).is_some() {
            return;
        }
        let bins = Binaries::locate().unwrap();
        assert_ne!(bins.dir().file_name().unwrap(), "deps");
        assert!(bins.dir().join("deps").is_dir(), "{}", bins.dir().display());
    }
}
