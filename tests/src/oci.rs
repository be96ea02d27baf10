//! Images made by the tests, without a registry to pull them from: layers as tars, an image config
//! naming their diff IDs, written as a `docker load` archive or pushed straight into a registry (blobs,
//! then a Docker schema 2 manifest, or an OCI index over several platforms' manifests) with its HTTP
//! API, so a test can set up what it pulls with neither daemon's help.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use sha2::{Digest as _, Sha256};

use crate::command::RunCommand;

/// Docker's media types.
pub const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// An OCI index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG_V1: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::from("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A tar of `files` (path, contents), each 0644 under its directory.
pub fn layer(files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, contents.as_slice())
            .with_context(|| format!("adding {path} to a layer"))?;
    }
    Ok(builder.into_inner()?)
}

/// `len` bytes that gzip cannot shrink (a xorshift stream seeded with `seed`).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `len` bytes of log-like text, which gzip shrinks as it shrinks real files (about 4 to 1).
pub fn text_bytes(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "container",
        "layer",
        "registry",
        "manifest",
        "digest",
        "pull",
        "push",
        "blob",
        "index",
        "platform",
        "snapshot",
        "content",
        "lease",
        "error",
        "info",
        "debug",
        "request",
        "status",
    ];
    let noise = random_bytes(len / 4 + 16, seed);
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0;
    while out.len() < len {
        let n = usize::from(noise[i % noise.len()]);
        out.extend_from_slice(format!("{:06} ", i).as_bytes());
        out.extend_from_slice(WORDS[n % WORDS.len()].as_bytes());
        out.push(if n % 7 == 0 { b'\n' } else { b' ' });
        i += 1;
    }
    out.truncate(len);
    out
}

/// An image: its layers (uncompressed tars) and its config.
#[derive(Clone, Debug)]
pub struct Image {
    layers: Vec<Vec<u8>>,
    config: Vec<u8>,
}

impl Image {
    /// An image of `layers` for linux/`arch`, running `cmd`.
    pub fn new(arch: &str, layers: Vec<Vec<u8>>, cmd: &[&str]) -> Self {
        let diff_ids: Vec<String> = layers.iter().map(|l| digest(l)).collect();
        let history: Vec<serde_json::Value> = layers
            .iter()
            .enumerate()
            .map(|(i, _)| {
                serde_json::json!({"created": "2026-01-01T00:00:00Z", "created_by": format!("layer {i}")})
            })
            .collect();
        let config = serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        Self {
            layers,
            config: serde_json::to_vec(&config).unwrap_or_default(),
        }
    }

    /// The config's digest: the image's ID.
    pub fn id(&self) -> String {
        digest(&self.config)
    }

    /// The layers' diff IDs.
    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| digest(l)).collect()
    }

    /// Writes a `docker load` archive of it, tagged `repo_tag`, to `path`.
    pub fn write_archive(&self, path: &Path, repo_tag: &str) -> Result<()> {
        let mut builder = tar::Builder::new(std::fs::File::create(path)?);
        let mut add = |name: &str, data: &[u8]| -> Result<()> {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            builder.append_data(&mut header, name, data)?;
            Ok(())
        };
        let config_name = format!("{}.json", self.id().trim_start_matches("sha256:"));
        add(&config_name, &self.config)?;
        let mut layer_names = Vec::new();
        for layer in &self.layers {
            let name = format!("{}/layer.tar", digest(layer).trim_start_matches("sha256:"));
            add(&name, layer)?;
            layer_names.push(name);
        }
        let manifest = serde_json::json!([{
            "Config": config_name, "RepoTags": [repo_tag], "Layers": layer_names,
        }]);
        add("manifest.json", &serde_json::to_vec(&manifest)?)?;
        builder.into_inner()?.flush()?;
        Ok(())
    }

    /// Pushes it into `registry` (`http://host:port`, no auth) as `repo:reference` with its layers
    /// gzipped; the manifest's digest and size.
    pub fn push(&self, registry: &str, repo: &str, reference: &str) -> Result<(String, usize)> {
        let mut layers = Vec::new();
        for layer in &self.layers {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(layer)?;
            let blob = gz.finish()?;
            upload_blob(registry, repo, &blob)?;
            layers.push(serde_json::json!({
                "mediaType": LAYER_GZIP, "size": blob.len(), "digest": digest(&blob),
            }));
        }
        upload_blob(registry, repo, &self.config)?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": self.config.len(), "digest": self.id()},
            "layers": layers,
        });
        let body = serde_json::to_vec(&manifest)?;
        put_manifest(registry, repo, reference, MANIFEST_V2, &body)?;
        Ok((digest(&body), body.len()))
    }
}

/// Pushes an OCI index of `manifests` (digest, size, architecture; Docker schema 2 manifests already in
/// `repo`) as `repo:tag`; its digest.
pub fn push_index(
    registry: &str,
    repo: &str,
    tag: &str,
    manifests: &[(String, usize, &str)],
) -> Result<String> {
    let entries: Vec<serde_json::Value> = manifests
        .iter()
        .map(|(d, size, arch)| {
            serde_json::json!({
                "mediaType": MANIFEST_V2, "digest": d, "size": size,
                "platform": {"architecture": arch, "os": "linux"},
            })
        })
        .collect();
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    let body = serde_json::to_vec(&index)?;
    put_manifest(registry, repo, tag, OCI_INDEX, &body)?;
    Ok(digest(&body))
}

/// Uploads `blob` into `repo` (a POST for the session, a PUT with the digest).
fn upload_blob(registry: &str, repo: &str, blob: &[u8]) -> Result<()> {
    let dir = crate::TempDir::new("bl")?;
    let file = dir.path().join("blob");
    std::fs::write(&file, blob)?;
    let started = RunCommand::new("curl")
        .args(["-sS", "-f", "-X", "POST", "-o", "/dev/null", "-D", "-"])
        .arg(format!("{registry}/v2/{repo}/blobs/uploads/"))
        .run()?
        .ok()?;
    let location = started
        .stdout
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        })
        .context("the registry gave no upload location")?;
    let location = if location.starts_with('/') {
        format!("{registry}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    RunCommand::new("curl")
        .args([
            "-sS",
            "-f",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{location}{sep}digest={}", digest(blob)))
        .run()?
        .ok()?;
    Ok(())
}

fn put_manifest(
    registry: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> Result<()> {
    let dir = crate::TempDir::new("mf")?;
    let file = dir.path().join("manifest.json");
    std::fs::write(&file, body)?;
    let out = RunCommand::new("curl")
        .args(["-sS", "-X", "PUT", "-H"])
        .arg(format!("Content-Type: {media_type}"))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .args(["-w", "%{http_code}"])
        .arg(format!("{registry}/v2/{repo}/manifests/{reference}"))
        .run()?;
    if !out.stdout.ends_with("201") {
        bail!(
            "the registry refused the manifest: {}{}",
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_do_not_compress_and_text_does() {
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(b).unwrap();
            e.finish().unwrap().len()
        };
        let r = random_bytes(100_000, 1);
        assert_eq!(r.len(), 100_000);
        assert!(gz(&r) > 99_000);
        let t = text_bytes(100_000, 1);
        assert_eq!(t.len(), 100_000);
        assert!(gz(&t) < 50_000, "{}", gz(&t));
        assert_ne!(random_bytes(64, 1), random_bytes(64, 2));
    }

    #[test]
    fn an_archive_names_its_config_and_layers_by_digest() {
        let dir = crate::TempDir::new("oc").unwrap();
        let image = Image::new(
            "amd64",
            vec![layer(&[("a", b"x".to_vec())]).unwrap()],
            &["sh"],
        );
        let path = dir.path().join("i.tar");
        image.write_archive(&path, "x:1").unwrap();
        let mut archive = tar::Archive::new(std::fs::File::open(&path).unwrap());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&format!("{}.json", &image.id()[7..])));
        assert!(names.contains(&format!("{}/layer.tar", &image.diff_ids()[0][7..])));
    }
}
