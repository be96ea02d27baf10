//! `docker commit`'s image: a new layer (a tar the caller writes: the container's writable layer) spooled
//! to disk while it is hashed, put in the content store, and an image made over the parent's layers and
//! that one, with the config the caller built (the parent's history and the new entry), as an import
//! makes one: under a lease, with the GC labels `write_image` sets, named or kept dangling.

use std::io::{self, Write};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::import::{unique, Spool, LEASE_EXPIRY};
use super::oci::{self, Descriptor, ImageConfig};
use super::{ImageMeta, ImageStore, DANGLING_PREFIX};
use crate::error::Error;
use crate::images::oci::chain_ids;

/// A writer that hashes what it writes and counts it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The layer tar's writer: the caller's work, run on a blocking thread.
pub(crate) type LayerWriter = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send>;

impl ImageStore {
    /// Makes the image of `parent` plus the layer `write` produces, with `config` (its `rootfs` is
    /// set here), named `name` (a normalised reference) or dangling. Answers the image ID.
    pub(crate) async fn commit_image(
        &self,
        parent: &ImageMeta,
        write: LayerWriter,
        mut config: ImageConfig,
        name: Option<String>,
    ) -> Result<String, Error> {
        std::fs::create_dir_all(&self.spool).map_err(Error::system)?;
        let spool = Spool(self.spool.join(format!("{}.tar", unique("commit"))));
        let path = spool.0.clone();
        let (digest, size) = tokio::task::spawn_blocking(move || -> io::Result<(String, u64)> {
            let file = std::fs::File::create(&path)?;
            let mut out = Hashing {
                inner: io::BufWriter::with_capacity(1 << 20, file),
                hash: Sha256::new(),
                size: 0,
            };
            write(&mut out)?;
            out.flush()?;
            let hex: String = out
                .hash
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok((format!("sha256:{hex}"), out.size))
        })
        .await
        .map_err(Error::system)?
        .map_err(|e| Error::system(format!("cannot write the layer: {e}")))?;

        config.rootfs.kind = "layers".to_owned();
        config.rootfs.diff_ids = parent.config.rootfs.diff_ids.clone();
        config.rootfs.diff_ids.push(digest.clone());
        let mut layers = parent.manifest.layers.clone();
        layers.push(Descriptor {
            media_type: oci::MEDIA_LAYER_TAR.to_owned(),
            digest: digest.clone(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            annotations: None,
        });
        let bytes = serde_json::to_vec(&config).map_err(Error::system)?;

        let lease = self
            .cd
            .lease_create(&unique("wharf-commit"), LEASE_EXPIRY)
            .await?;
        let leased = self.cd.with_lease(&lease)?;
        let made = self
            .commit_write(&leased, &spool, &digest, size, config, bytes, layers, name)
            .await;
        if let Err(e) = self.cd.lease_delete(&lease, made.is_err()).await {
            tracing::warn!("cannot delete lease {lease}: {e}");
        }
        made
    }

    #[allow(clippy::too_many_arguments)]
    async fn commit_write(
        &self,
        cd: &crate::containerd::Containerd,
        spool: &Spool,
        digest: &str,
        size: u64,
        config: ImageConfig,
        bytes: Vec<u8>,
        layers: Vec<Descriptor>,
        name: Option<String>,
    ) -> Result<String, Error> {
        let file = tokio::fs::File::open(&spool.0)
            .await
            .map_err(Error::system)?;
        cd.write_blob(digest, size, file, Default::default())
            .await?;
        let meta: Arc<ImageMeta> = self.write_image(cd, config, bytes, layers).await?;
        let chains = chain_ids(&meta.config.rootfs.diff_ids);
        let image_size = self.unpacked_size(cd, &chains).await;
        let record = match &name {
            Some(n) => n.clone(),
            None => format!("{DANGLING_PREFIX}{}", meta.manifest_digest),
        };
        self.set_name(&record, &meta, image_size).await?;
        if name.is_some() {
            let _ = self.drop_dangling(&meta.manifest_digest).await;
        }
        Ok(meta.id.clone())
    }
}
