//! Pulls against a REAL containerd and a REAL registry (Debian's `docker-registry`, distribution 2.8, on
//! plain HTTP at 127.0.0.1, which is insecure by default as for dockerd). Images are put into the
//! registry by writing its storage layout (blobs, layer links, manifest revisions and tags), so a test
//! can also tamper with a blob on the registry's disk.
//!
//! They need root, `containerd` and `docker-registry`; without them they print why and pass (under CI a
//! missing prerequisite fails).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::containerd::{can_run, start, Dir};
use crate::containerd::supervisor::find_in_path;
use crate::containerd::Containerd;
use crate::error::Error;
use crate::images::oci::sha256_digest;
use crate::images::pull::platform::Platform;
use crate::images::pull::PullOptions;
use crate::images::ImageStore;
use crate::registry::{Registries, RegistryConfig};

const GZIP_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A `docker-registry` on a free loopback port, storing under a temporary directory.
pub(super) struct Registry {
    child: Child,
    pub(super) root: PathBuf,
    pub(super) log: PathBuf,
    pub(super) port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    pub(super) fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = dir.join("registry");
        std::fs::create_dir_all(&root).unwrap();
        let cfg = dir.join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                root.display()
            ),
        )
        .unwrap();
        let log = dir.join("registry.log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            root,
            log,
            port,
        }
    }

    pub(super) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn v2(&self) -> PathBuf {
        self.root.join("docker/registry/v2")
    }

    pub(super) fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = &digest[7..];
        self.v2()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    fn link(path: PathBuf, digest: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, digest).unwrap();
    }

    /// Stores a blob and links it into `repo`.
    pub(super) fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let path = self.blob_path(&digest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        Self::link(
            self.v2()
                .join("repositories")
                .join(repo)
                .join("_layers/sha256")
                .join(&digest[7..])
                .join("link"),
            &digest,
        );
        digest
    }

    /// Stores a manifest (or index) in `repo`, under `tag` when given.
    pub(super) fn put_manifest(&self, repo: &str, tag: Option<&str>, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let path = self.blob_path(&digest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let manifests = self.v2().join("repositories").join(repo).join("_manifests");
        Self::link(
            manifests
                .join("revisions/sha256")
                .join(&digest[7..])
                .join("link"),
            &digest,
        );
        if let Some(tag) = tag {
            let t = manifests.join("tags").join(tag);
            Self::link(t.join("current/link"), &digest);
            Self::link(
                t.join("index/sha256").join(&digest[7..]).join("link"),
                &digest,
            );
        }
        digest
    }

    /// How many times the registry served blob `digest` (GETs in its access log).
    pub(super) fn blob_gets(&self, digest: &str) -> usize {
        self.requests("GET", &format!("/blobs/{digest}"))
    }

    /// How many `method` requests for a path containing `part` the registry answered.
    pub(super) fn requests(&self, method: &str, part: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains("response completed")
                    && l.contains(&format!("http.request.method={method}"))
                    && l.contains(part)
            })
            .count()
    }
}

/// A tar of one file `name` holding `size` bytes that do not compress (xorshift from `seed`).
pub(super) fn layer_tar(name: &str, size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut data = Vec::with_capacity(size);
    while data.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(size);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, &data[..]).unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` compressed with the `zstd` command.
fn zstd(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-q", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// An image put into the registry.
pub(super) struct Pushed {
    pub(super) manifest: String,
    pub(super) config: String,
    pub(super) layers: Vec<String>,
    pub(super) manifest_bytes: Vec<u8>,
}

/// Puts an image of `tars` (gzipped) for `arch` into `repo` (tagged `tag` when given).
pub(super) fn put_image(
    reg: &Registry,
    repo: &str,
    tag: Option<&str>,
    tars: &[Vec<u8>],
    arch: &str,
) -> Pushed {
    let layers: Vec<(Vec<u8>, &str)> = tars.iter().map(|t| (t.clone(), "gzip")).collect();
    put_layers(reg, repo, tag, &layers, arch)
}

/// Puts an image of `layers` (each compressed as its `gzip`, `zstd` or `tar` says) into `repo`.
pub(super) fn put_layers(
    reg: &Registry,
    repo: &str,
    tag: Option<&str>,
    tars: &[(Vec<u8>, &str)],
    arch: &str,
) -> Pushed {
    let mut layers = Vec::new();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for (t, how) in tars {
        let (blob, media_type) = match *how {
            "gzip" => (gzip(t), GZIP_LAYER),
            "zstd" => (zstd(t), "application/vnd.oci.image.layer.v1.tar+zstd"),
            _ => (t.clone(), "application/vnd.oci.image.layer.v1.tar"),
        };
        let digest = reg.put_blob(repo, &blob);
        descriptors.push(json!({"mediaType": media_type, "size": blob.len(), "digest": digest}));
        diff_ids.push(sha256_digest(t));
        layers.push(digest);
    }
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "created": "2026-12-01T00:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = reg.put_blob(repo, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": config_digest},
        "layers": descriptors,
    }))
    .unwrap();
    let digest = reg.put_manifest(repo, tag, &manifest);
    Pushed {
        manifest: digest,
        config: config_digest,
        layers,
        manifest_bytes: manifest,
    }
}

/// Puts an index of `images` (with their architectures) under `tag`.
pub(super) fn put_index(
    reg: &Registry,
    repo: &str,
    tag: &str,
    images: &[(&Pushed, &str, &str)],
) -> String {
    let manifests: Vec<Value> = images
        .iter()
        .map(|(p, arch, variant)| {
            let mut platform = json!({"architecture": arch, "os": "linux"});
            if !variant.is_empty() {
                platform["variant"] = json!(variant);
            }
            json!({"mediaType": DOCKER_MANIFEST, "size": p.manifest_bytes.len(), "digest": p.manifest, "platform": platform})
        })
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": manifests,
    }))
    .unwrap();
    reg.put_manifest(repo, Some(tag), &index)
}

/// A store over `cd` pulling through the daemon's registry service with its default configuration.
pub(super) fn store(cd: &Containerd, snap: &'static str, dir: &Path) -> ImageStore {
    ImageStore::new(cd.clone(), snap, dir.join("data/tmp"), 1 << 30)
        .with_registries(Registries::new(RegistryConfig::default()))
}

pub(super) async fn snapshotter(cd: &Containerd) -> &'static str {
    if cd.snapshotter_available("overlayfs").await.unwrap() {
        "overlayfs"
    } else {
        "native"
    }
}

/// Pulls, answering the stream's JSON lines and the outcome.
pub(super) async fn pull(
    store: &ImageStore,
    image: &str,
    tag: &str,
    platform: Option<&str>,
) -> (Vec<Value>, Result<(), Error>) {
    let opts = PullOptions {
        image: image.to_owned(),
        tag: tag.to_owned(),
        platform: platform.map(|p| Platform::parse(p).unwrap()),
        ..PullOptions::default()
    };
    let job = match store.pull_prepare(&opts).await {
        Ok(j) => j,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let (tx, mut rx) = mpsc::channel(16);
    let run = store.pull_run(job, tx);
    let collect = async {
        let mut lines = Vec::new();
        while let Some(p) = rx.recv().await {
            lines.push(serde_json::from_str::<Value>(&p.to_json()).unwrap());
        }
        lines
    };
    let (result, lines) = tokio::join!(run, collect);
    (lines, result)
}

fn statuses(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["status"].as_str().unwrap_or(""),
                l["id"].as_str().unwrap_or("")
            )
            .trim()
            .to_owned()
        })
        .collect()
}

pub(super) fn prerequisites(test: &str) -> bool {
    if !can_run(test) {
        return false;
    }
    if find_in_path("docker-registry").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: docker-registry is not installed"
        );
        eprintln!(
            "skipping {test}: docker-registry is not installed (apt-get install docker-registry)"
        );
        return false;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_by_tag_and_by_digest_keeps_the_registry_blobs_and_digests() {
    if !prerequisites("pull_by_tag_and_by_digest_keeps_the_registry_blobs_and_digests") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let host = reg.host();
    let tars = [layer_tar("a", 1000, 1), layer_tar("b", 300_000, 2)];
    let img = put_image(
        &reg,
        "lib/app",
        Some("v1"),
        &tars,
        crate::buildinfo::go_arch(),
    );
    let store = store(&cd, snap, &dir.0);
    let name = format!("{host}/lib/app");

    let (lines, result) = pull(&store, &name, "v1", None).await;
    result.unwrap();
    let s = statuses(&lines);
    let (l0, l1) = (&img.layers[0][7..19], &img.layers[1][7..19]);
    assert_eq!(s[0], "Pulling from lib/app v1");
    for want in [
        format!("Pulling fs layer {l0}"),
        format!("Download complete {l1}"),
        format!("Pull complete {l0}"),
        format!("Pull complete {l1}"),
        format!("Digest: {}", img.manifest),
        format!("Status: Downloaded newer image for {name}:v1"),
    ] {
        assert!(s.contains(&want), "{want} missing from {s:#?}");
    }
    let pos = |w: String| s.iter().position(|x| *x == w).unwrap();
    assert!(pos(format!("Pull complete {l0}")) < pos(format!("Pull complete {l1}")));

    let entry = store.resolve(&format!("{name}:v1")).await.unwrap();
    assert_eq!(entry.id, img.config);
    assert_eq!(entry.meta.manifest_digest, img.manifest);
    assert_eq!(entry.repo_digests(), [format!("{name}@{}", img.manifest)]);
    // dockerd's size: the files' bytes.
    assert_eq!(entry.size, 1000 + 300_000);
    // The registry's compressed layers are kept, labelled with where they came from.
    for l in &img.layers {
        let info = cd.content_info(l).await.unwrap();
        assert_eq!(
            info.labels
                .get(&format!("containerd.io/distribution.source.{host}"))
                .map(String::as_str),
            Some("lib/app")
        );
    }

    // Again: nothing downloaded, the tag resolved with a HEAD only, without a ping (the registry
    // answered one moments ago).
    let gets = reg.blob_gets(&img.layers[1]);
    let manifest_gets = reg.requests("GET", "/manifests/");
    let ping = "http.request.uri=/v2/ ";
    let pings = reg.requests("GET", ping);
    let (lines, result) = pull(&store, &name, "v1", None).await;
    result.unwrap();
    assert_eq!(
        statuses(&lines),
        [
            "Pulling from lib/app v1".to_owned(),
            format!("Digest: {}", img.manifest),
            format!("Status: Image is up to date for {name}:v1"),
        ]
    );
    assert_eq!(reg.blob_gets(&img.layers[1]), gets);
    assert_eq!(reg.requests("GET", "/manifests/"), manifest_gets);
    assert!(reg.requests("HEAD", "/manifests/v1") >= 2);
    assert!(pings > 0);
    assert_eq!(reg.requests("GET", ping), pings);

    // By digest, into an empty store.
    store.delete(&format!("{name}:v1"), false).await.unwrap();
    assert!(cd.content_list(Vec::new()).await.unwrap().is_empty());
    let (lines, result) = pull(&store, &name, &img.manifest, None).await;
    result.unwrap();
    let s = statuses(&lines);
    assert_eq!(s[0], format!("Pulling from lib/app {}", img.manifest));
    assert!(s.contains(&format!(
        "Status: Downloaded newer image for {name}@{}",
        img.manifest
    )));
    let entry = store
        .resolve(&format!("{name}@{}", img.manifest))
        .await
        .unwrap();
    assert_eq!(entry.id, img.config);
    assert!(entry.repo_tags().is_empty());

    // An unknown tag is the request's error, in dockerd's words.
    let (_, result) = pull(&store, &name, "nope", None).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        format!("manifest for {name}:nope not found: manifest unknown: manifest unknown")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_zstd_and_uncompressed_layers_unpack() {
    if !prerequisites("gzip_zstd_and_uncompressed_layers_unpack") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let layers = [
        (layer_tar("g", 1000, 13), "gzip"),
        (layer_tar("z", 2000, 14), "zstd"),
        (layer_tar("t", 3000, 15), "tar"),
    ];
    let img = put_layers(
        &reg,
        "mixed",
        Some("1"),
        &layers,
        crate::buildinfo::go_arch(),
    );
    let store = store(&cd, snap, &dir.0);
    let name = format!("{}/mixed", reg.host());
    let (_, result) = pull(&store, &name, "1", None).await;
    result.unwrap();
    let entry = store.resolve(&format!("{name}:1")).await.unwrap();
    assert_eq!(entry.id, img.config);
    assert_eq!(entry.size, 6000);
    // Each layer was unpacked and checked against its diff ID: three committed snapshots.
    assert_eq!(cd.snapshot_list(snap, Vec::new()).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_gives_the_hosts_platform_or_the_one_asked_for() {
    if !prerequisites("an_index_gives_the_hosts_platform_or_the_one_asked_for") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let host_arch = crate::buildinfo::go_arch();
    let other_arch = if host_arch == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let native = put_image(&reg, "multi", None, &[layer_tar("n", 100, 3)], host_arch);
    let other = put_image(&reg, "multi", None, &[layer_tar("o", 100, 4)], other_arch);
    let armv6 = put_image(&reg, "multi", None, &[layer_tar("v6", 100, 5)], "arm");
    let index = put_index(
        &reg,
        "multi",
        "1",
        &[
            (&other, other_arch, ""),
            (&armv6, "arm", "v6"),
            (&native, host_arch, ""),
        ],
    );
    let store = store(&cd, snap, &dir.0);
    let name = format!("{}/multi", reg.host());

    let (lines, result) = pull(&store, &name, "1", None).await;
    result.unwrap();
    assert!(statuses(&lines).contains(&format!("Digest: {index}")));
    let entry = store.resolve(&format!("{name}:1")).await.unwrap();
    assert_eq!(entry.id, native.config);
    // RepoDigests name the index, as dockerd's, and the index is kept.
    assert_eq!(entry.repo_digests(), [format!("{name}@{index}")]);
    assert!(cd.content_info(&index).await.is_ok());

    let (_, result) = pull(
        &store,
        &format!("{name}:1"),
        "",
        Some(&format!("linux/{other_arch}")),
    )
    .await;
    result.unwrap();
    assert_eq!(
        store.resolve(&format!("{name}:1")).await.unwrap().id,
        other.config
    );
    // An arm/v7 machine takes the v6 image.
    let (_, result) = pull(&store, &name, "1", Some("linux/arm/v7")).await;
    result.unwrap();
    assert_eq!(
        store.resolve(&format!("{name}:1")).await.unwrap().id,
        armv6.config
    );
    let (lines, result) = pull(&store, &name, "1", Some("linux/s390x")).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "no matching manifest for linux/s390x in the manifest list entries"
    );
    // The error comes after "Pulling from", in the stream (as dockerd's).
    assert_eq!(statuses(&lines), ["Pulling from multi 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_pulls_download_a_shared_layer_once() {
    if !prerequisites("two_concurrent_pulls_download_a_shared_layer_once") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let arch = crate::buildinfo::go_arch();
    let shared = layer_tar("shared", 48 << 20, 6);
    let a = put_image(
        &reg,
        "a",
        Some("1"),
        &[shared.clone(), layer_tar("a", 10, 7)],
        arch,
    );
    let b = put_image(&reg, "b", Some("1"), &[shared, layer_tar("b", 10, 8)], arch);
    assert_eq!(a.layers[0], b.layers[0]);
    let store = store(&cd, snap, &dir.0);
    let host = reg.host();
    let (name_a, name_b) = (format!("{host}/a"), format!("{host}/b"));
    let (ra, rb) = tokio::join!(
        pull(&store, &name_a, "1", None),
        pull(&store, &name_b, "1", None)
    );
    ra.1.unwrap();
    rb.1.unwrap();
    assert_eq!(
        reg.blob_gets(&a.layers[0]),
        1,
        "the shared layer was downloaded more than once"
    );
    assert_eq!(reg.blob_gets(&a.layers[1]), 1);
    assert_eq!(reg.blob_gets(&b.layers[1]), 1);
    assert_eq!(
        store.resolve(&format!("{host}/a:1")).await.unwrap().id,
        a.config
    );
    assert_eq!(
        store.resolve(&format!("{host}/b:1")).await.unwrap().id,
        b.config
    );
    // Both show the shared layer's progress.
    for lines in [&ra.0, &rb.0] {
        assert!(statuses(lines).contains(&format!("Pull complete {}", &a.layers[0][7..19])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_blob_fails_clearly_leaves_nothing_and_a_good_pull_follows() {
    if !prerequisites("a_tampered_blob_fails_clearly_leaves_nothing_and_a_good_pull_follows") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let tars = [layer_tar("good", 200_000, 9), layer_tar("bad", 400_000, 10)];
    let img = put_image(&reg, "t", Some("1"), &tars, crate::buildinfo::go_arch());
    let store = store(&cd, snap, &dir.0);
    let name = format!("{}/t", reg.host());

    let path = reg.blob_path(&img.layers[1]);
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();

    let (lines, result) = pull(&store, &name, "1", None).await;
    let e = result.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "filesystem layer verification failed for digest {}",
            img.layers[1]
        )
    );
    assert!(!lines.is_empty());
    // Nothing half-stored: no blob (not even the good layer), no snapshot, no image.
    assert_eq!(cd.content_list(Vec::new()).await.unwrap().len(), 0);
    assert!(cd.snapshot_list(snap, Vec::new()).await.unwrap().is_empty());
    assert!(cd.image_list(Vec::new()).await.unwrap().is_empty());

    std::fs::write(&path, &good).unwrap();
    let (_, result) = pull(&store, &name, "1", None).await;
    result.unwrap();
    assert_eq!(
        store.resolve(&format!("{name}:1")).await.unwrap().id,
        img.config
    );
    assert_eq!(cd.snapshot_list(snap, Vec::new()).await.unwrap().len(), 2);
}

/// Pushes, answering the stream's JSON lines and the outcome.
async fn push(store: &ImageStore, name: &str, tag: &str) -> (Vec<Value>, Result<(), Error>) {
    let reference = crate::images::push::push_reference(name, tag).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let run = store.push(reference, Default::default(), tx);
    let collect = async {
        let mut lines = Vec::new();
        while let Some(p) = rx.recv().await {
            lines.push(serde_json::from_str::<Value>(&p.to_json()).unwrap());
        }
        lines
    };
    let (result, lines) = tokio::join!(run, collect);
    (lines, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_then_pull_back_gives_the_same_image() {
    if !prerequisites("push_then_pull_back_gives_the_same_image") {
        return;
    }
    let dir = Dir::new();
    let (_sup, cd) = start(&dir.0).await;
    let snap = snapshotter(&cd).await;
    let reg = Registry::start(&dir.0);
    let host = reg.host();
    let store = store(&cd, snap, &dir.0);
    let name = format!("{host}/pushed");

    // An imported image (an uncompressed layer), pushed as stored.
    let tar = layer_tar("file", 700_000, 11);
    let body =
        futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(tar.clone()))]);
    let opts = crate::images::import::ImportOptions {
        repo: format!("{name}:1"),
        ..Default::default()
    };
    let id = store.import(body, opts).await.unwrap();
    let local = store.resolve(&format!("{name}:1")).await.unwrap();
    let diff = &local.meta.config.rootfs.diff_ids[0][7..19];

    let (lines, result) = push(&store, &name, "1").await;
    result.unwrap();
    let s = statuses(&lines);
    let manifest = &local.meta.manifest_digest;
    assert_eq!(s[0], format!("The push refers to repository [{name}]"));
    assert!(s.contains(&format!("Preparing {diff}")), "{s:#?}");
    assert!(s.contains(&format!("Pushed {diff}")), "{s:#?}");
    assert!(
        s.iter()
            .any(|l| l.starts_with(&format!("1: digest: {manifest} size: "))),
        "{s:#?}"
    );
    let aux = lines.last().unwrap();
    assert_eq!(aux["aux"]["Tag"], "1");
    assert_eq!(aux["aux"]["Digest"], manifest.as_str());
    assert_eq!(
        store
            .resolve(&format!("{name}:1"))
            .await
            .unwrap()
            .repo_digests(),
        [format!("{name}@{manifest}")]
    );
    assert!(reg
        .blob_path(&local.meta.config.rootfs.diff_ids[0])
        .exists());

    // Again: the registry has everything.
    let (lines, result) = push(&store, &name, "1").await;
    result.unwrap();
    assert!(statuses(&lines).contains(&format!("Layer already exists {diff}")));

    // Removed and pulled back: the same image.
    store.delete(&format!("{name}:1"), false).await.unwrap();
    assert!(cd.content_list(Vec::new()).await.unwrap().is_empty());
    let (_, result) = pull(&store, &name, "1", None).await;
    result.unwrap();
    let back = store.resolve(&format!("{name}:1")).await.unwrap();
    assert_eq!(back.id, id);
    assert_eq!(back.meta.manifest_digest, *manifest);

    // A pulled image pushed to another repository of the same registry is mounted, not uploaded.
    let img = put_image(
        &reg,
        "origin",
        Some("1"),
        &[layer_tar("o", 5000, 12)],
        crate::buildinfo::go_arch(),
    );
    let (_, result) = pull(&store, &format!("{host}/origin"), "1", None).await;
    result.unwrap();
    store
        .tag(&format!("{host}/origin:1"), &format!("{host}/copy"), "2")
        .await
        .unwrap();
    let (lines, result) = push(&store, &format!("{host}/copy"), "2").await;
    result.unwrap();
    let s = statuses(&lines);
    let layer_diff = &store
        .resolve(&format!("{host}/copy:2"))
        .await
        .unwrap()
        .meta
        .config
        .rootfs
        .diff_ids[0][7..19];
    assert!(
        s.contains(&format!("Mounted from origin {layer_diff}")),
        "{s:#?}"
    );
    assert!(
        s.contains(&format!(
            "2: digest: {} size: {}",
            img.manifest,
            img.manifest_bytes.len()
        )),
        "{s:#?}"
    );

    // Nothing local under that name: dockerd's words, in the stream.
    let (lines, result) = push(&store, &format!("{host}/nothere"), "1").await;
    assert_eq!(
        result.unwrap_err().to_string(),
        format!("An image does not exist locally with the tag: {host}/nothere")
    );
    assert_eq!(statuses(&lines).len(), 1);
}
