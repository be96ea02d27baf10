//! Integration tests against a REAL containerd started by wharfd's supervisor in a temporary directory:
//! supervision (start, answer, restart after a crash, stop), and the image store's writes (import, tag,
//! delete, nothing left after a failed import or a delete).
//!
//! They need root and Debian's `containerd`; without them they print why and pass — except under CI (`CI`
//! set), where a missing prerequisite is a failure.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::containerd::supervisor::find_in_path;
use crate::containerd::{Containerd, Supervisor};
use crate::images::import::ImportOptions;
use crate::images::ImageStore;
use bytes::Bytes;
use wharf_client_core::ErrorKind;

static N: AtomicU32 = AtomicU32::new(0);

/// A private directory, removed on drop.
pub(super) struct Dir(pub(super) PathBuf);

impl Dir {
    pub(super) fn new() -> Self {
        let p = PathBuf::from(format!(
            "/tmp/wct{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // Snapshots may still be mounted nowhere; the tree is plain files once containerd stopped.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the prerequisites are here; prints the reason (or panics under CI) when not.
pub(super) fn can_run(test: &str) -> bool {
    let reason = if !nix::unistd::geteuid().is_root() {
        Some("not root")
    } else if find_in_path("containerd").is_none() {
        Some("containerd is not installed (apt-get install containerd runc)")
    } else {
        None
    };
    match reason {
        None => true,
        Some(r) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run under CI: {r}"),
        Some(r) => {
            eprintln!("skipping {test}: {r}");
            false
        }
    }
}

pub(super) async fn start(dir: &Path) -> (Supervisor, Containerd) {
    Supervisor::start(&dir.join("data"), &dir.join("exec"), "wharf-test")
        .await
        .unwrap()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_starts_restarts_and_stops_containerd() {
    if !can_run("supervisor_starts_restarts_and_stops_containerd") {
        return;
    }
    let dir = Dir::new();
    let (sup, cd) = start(&dir.0).await;
    let (version, _) = cd.version().await.unwrap();
    assert!(
        version.starts_with('1') || version.starts_with('2'),
        "{version}"
    );
    let config = std::fs::read_to_string(dir.0.join("exec/containerd/containerd.toml")).unwrap();
    assert!(config.contains("io.containerd.grpc.v1.cri"));

    // A crash is followed by a restart, and the same client reconnects by itself.
    let first = sup.pid().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let (Some(p), Ok(_)) = (sup.pid(), cd.version().await) {
            if p != first {
                break;
            }
        }
        assert!(Instant::now() < deadline, "containerd was not restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = sup.pid().unwrap();
    sup.stop().await;
    assert!(
        !pid_alive(second),
        "containerd {second} still runs after stop"
    );
    assert!(cd.version().await.is_err());
}

/// A small rootfs tar: a directory, files and a symlink.
fn rootfs_tar(marker: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "etc/", &[][..]).unwrap();
    let mut f = tar::Header::new_gnu();
    f.set_mode(0o644);
    f.set_size(marker.len() as u64);
    b.append_data(&mut f, "etc/marker", marker.as_bytes())
        .unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "etc/link", "marker").unwrap();
    b.into_inner().unwrap()
}

fn body(bytes: Vec<u8>) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(chunks)
}

fn opts(repo: &str) -> ImportOptions {
    ImportOptions {
        repo: repo.to_owned(),
        changes: vec!["CMD [\"sh\"]".to_owned(), "LABEL a=b".to_owned()],
        ..ImportOptions::default()
    }
}

async fn blobs(cd: &Containerd) -> usize {
    cd.content_list(Vec::new()).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_tag_delete_and_failed_imports_leave_nothing() {
    if !can_run("import_tag_delete_and_failed_imports_leave_nothing") {
        return;
    }
    let dir = Dir::new();
    let (sup, cd) = start(&dir.0).await;
    let snap = if cd.snapshotter_available("overlayfs").await.unwrap() {
        "overlayfs"
    } else {
        "native"
    };
    let spool = dir.0.join("data/tmp");
    let store = ImageStore::new(cd.clone(), snap, spool.clone(), 1 << 30);

    // Refused uploads: nothing in the content store, no snapshot, no spool file.
    let good = rootfs_tar("one");
    let mut truncated = good.clone();
    truncated.truncate(512 + 100);
    for (bad, what) in [
        (b"definitely not a tar".to_vec(), "not a tar"),
        (truncated, "truncated"),
    ] {
        let e = store.import(body(bad), opts("bad")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter, "{what}: {e}");
    }
    let small = ImageStore::new(cd.clone(), snap, spool.clone(), 100);
    let e = small
        .import(body(good.clone()), opts("big"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PayloadTooLarge);
    assert_eq!(blobs(&cd).await, 0);
    assert!(cd.snapshot_list(snap, Vec::new()).await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);

    // A good import: three blobs, one committed snapshot, an image under its normalised name.
    let id = store
        .import(body(good.clone()), opts("img:1"))
        .await
        .unwrap();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(blobs(&cd).await, 3);
    let record = cd.image_get("docker.io/library/img:1").await.unwrap();
    assert!(record.target.is_some());
    let entry = store.resolve("img:1").await.unwrap();
    assert_eq!(entry.id, id);
    assert_eq!(entry.size, 3 + "marker".len() as i64);
    assert_eq!(entry.repo_tags(), ["img:1"]);
    let cfg = entry.meta.config.config.clone().unwrap();
    assert_eq!(cfg.cmd, Some(vec!["sh".to_owned()]));
    assert_eq!(store.resolve(&id[7..19]).await.unwrap().id, id);
    assert_eq!(store.resolve(&id).await.unwrap().id, id);
    let top = &entry.meta.config.rootfs.diff_ids[0];
    let snaps = cd.snapshot_list(snap, Vec::new()).await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(&snaps[0].name, top);

    // The unpacked snapshot holds the files.
    let mounts = cd.snapshot_view(snap, "check-view", top).await.unwrap();
    assert!(!mounts.is_empty());
    // The view holds no GC label: containerd may collect it first, which is fine.
    if let Err(e) = cd.snapshot_remove(snap, "check-view").await {
        assert!(e.is_not_found(), "{e}");
    }

    // Tags, untag, delete: the GC frees content and snapshots.
    assert_eq!(
        store.tag("img:1", "other/app", "v2").await.unwrap(),
        "other/app:v2"
    );
    assert_eq!(store.resolve("other/app:v2").await.unwrap().id, id);
    let e = store.delete(&id[7..19], false).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(
        e.message.contains("referenced in multiple repositories"),
        "{e}"
    );
    let items = store.delete("img:1", false).await.unwrap();
    assert_eq!(
        serde_json::to_string(&items).unwrap(),
        r#"[{"Untagged":"img:1"}]"#
    );
    assert_eq!(blobs(&cd).await, 3);
    let items = store.delete("other/app:v2", false).await.unwrap();
    assert_eq!(
        serde_json::to_string(&items).unwrap(),
        format!(r#"[{{"Untagged":"other/app:v2"}},{{"Deleted":"{id}"}}]"#)
    );
    assert_eq!(blobs(&cd).await, 0);
    assert!(cd.snapshot_list(snap, Vec::new()).await.unwrap().is_empty());
    let e = store.resolve("img:1").await.unwrap_err();
    assert_eq!(e.to_string(), "No such image: img:1");

    // Re-importing under the same tag leaves the old image dangling, with its own size; prune removes it.
    let first = store
        .import(body(rootfs_tar("a")), opts("re:1"))
        .await
        .unwrap();
    let second = store
        .import(body(rootfs_tar("bbbb")), opts("re:1"))
        .await
        .unwrap();
    assert_ne!(first, second);
    let all = store.list().await.unwrap();
    assert_eq!(all.len(), 2);
    let old = all.iter().find(|e| e.id == first).unwrap();
    assert!(old.dangling());
    assert_eq!(old.size, 1 + "marker".len() as i64);
    let (pruned, reclaimed) = store.prune(false, |_| false).await.unwrap();
    assert_eq!(pruned.len(), 1);
    assert_eq!(reclaimed, 1 + "marker".len() as i64);
    assert_eq!(store.list().await.unwrap().len(), 1);
    sup.stop().await;
}

/// A docker-save archive with one image whose config claims `diff_id` for `layer`.
fn save_archive(layer: &[u8], diff_id: &str, tag: &str) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","config":{{}},"created":"2024-01-01T00:00:00Z","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let manifest =
        format!(r#"[{{"Config":"c.json","RepoTags":["{tag}"],"Layers":["l/layer.tar"]}}]"#);
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("l/layer.tar", layer),
        ("c.json", config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    }
    b.into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_checks_layers_and_leaves_nothing_when_refused() {
    if !can_run("load_checks_layers_and_leaves_nothing_when_refused") {
        return;
    }
    let dir = Dir::new();
    let (sup, cd) = start(&dir.0).await;
    let store = ImageStore::new(cd.clone(), "native", dir.0.join("data/tmp"), 1 << 30);
    let layer = rootfs_tar("x");
    let digest = format!(
        "sha256:{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(&layer)
    );

    // A config whose diff ID does not match the layer, then a layer that escapes its root.
    let wrong = save_archive(&layer, &format!("sha256:{}", "0".repeat(64)), "l:1");
    let e = store.load(body(wrong)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidParameter);
    assert!(e.message.contains("but the config says"), "{e}");
    let mut evil = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    evil.append_link(&mut h, "x", "../../../etc").unwrap();
    let evil = evil.into_inner().unwrap();
    let evil_digest = format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(&evil));
    let e = store
        .load(body(save_archive(&evil, &evil_digest, "l:1")))
        .await
        .unwrap_err();
    assert!(e.message.contains("invalid symlink"), "{e}");
    assert_eq!(blobs(&cd).await, 0);
    assert!(cd
        .snapshot_list("native", Vec::new())
        .await
        .unwrap()
        .is_empty());

    let lines = store
        .load(body(save_archive(&layer, &digest, "l:1")))
        .await
        .unwrap();
    assert_eq!(lines, ["Loaded image: l:1"]);
    assert_eq!(
        store
            .resolve("l:1")
            .await
            .unwrap()
            .meta
            .config
            .rootfs
            .diff_ids,
        [digest]
    );
    sup.stop().await;
}

#[derive(Debug)]
struct OneContainer;

impl crate::images::ImageUsers for OneContainer {
    fn containers_using(&self, _id: &str) -> Vec<String> {
        vec!["c0ffee0123456789".to_owned()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_a_container_uses_are_not_deleted() {
    if !can_run("images_a_container_uses_are_not_deleted") {
        return;
    }
    let dir = Dir::new();
    let (sup, cd) = start(&dir.0).await;
    let store = ImageStore::new(cd.clone(), "native", dir.0.join("data/tmp"), 1 << 30)
        .with_users(std::sync::Arc::new(OneContainer));
    let id = store
        .import(body(rootfs_tar("u")), opts("used:1"))
        .await
        .unwrap();
    let e = store.delete("used:1", false).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_eq!(
        e.message,
        format!(
            "conflict: unable to remove repository reference \"used:1\" (must force) - container c0ffee012345 is using its referenced image {}",
            &id[7..19]
        )
    );
    let e = store.delete(&id, true).await.unwrap_err();
    assert!(
        e.message
            .contains("(cannot be forced) - image is being used by container c0ffee012345"),
        "{e}"
    );
    let (pruned, _) = store.prune(true, |_| false).await.unwrap();
    assert!(pruned.is_empty());
    assert_eq!(store.resolve("used:1").await.unwrap().id, id);
    sup.stop().await;
}
