//! The registry client against REAL registries (Debian's `docker-registry`, distribution 2.8): logins
//! right and wrong, uploads, mounts, manifests by tag and digest, streamed blobs, dockerd's wording of
//! refusals, TLS trusted only through `certs.d`, plain HTTP only when insecure, retries of a registry
//! failing for a moment and a download resumed after a cut. Without `docker-registry` they print why
//! and pass — except under CI.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::{ErrorKind, Reference};

use super::registry_fixture::{can_run, outward_ip, Fault, FaultProxy, Registry, PASSWORD, USER};
use crate::registry::{Access, BlobStream, OpenBlob, Registries, RegistryConfig, Repository};

const SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn registries(certs_dir: PathBuf, insecure: &[String]) -> Registries {
    Registries::new(RegistryConfig {
        insecure: insecure.to_vec(),
        certs_dir,
        ..RegistryConfig::default()
    })
}

fn login_as(server: &str, user: &str, password: &str) -> RegistryAuth {
    RegistryAuth {
        username: user.into(),
        password: password.into(),
        serveraddress: server.into(),
        ..RegistryAuth::default()
    }
}

fn repo(r: &Registries, name: &str, auth: &RegistryAuth, access: Access) -> Repository {
    r.repository(&Reference::parse(name).unwrap(), auth, access)
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// `len` bytes that do not compress (so sizes mean something), different per `seed`.
fn noise(len: usize, seed: u64) -> Bytes {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// A source reopened for each upload attempt, in 64 KiB chunks.
fn source(bytes: Bytes) -> OpenBlob {
    Arc::new(move || {
        let bytes = bytes.clone();
        Box::pin(async move {
            let chunks: Vec<Result<Bytes, crate::error::Error>> = bytes
                .chunks(64 << 10)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Ok(Box::pin(futures_util::stream::iter(chunks)) as BlobStream)
        })
    })
}

async fn collect(mut s: BlobStream) -> Result<Vec<u8>, crate::error::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// An image pushed with the client: its manifest, digest, layer and the layer's digest.
struct Pushed {
    manifest: Bytes,
    digest: String,
    layer: Bytes,
    layer_digest: String,
}

async fn push_image(repo: &Repository, tag: &str, seed: u64) -> Pushed {
    let layer = noise(3 << 20, seed);
    let layer_digest = sha256(&layer);
    let config = Bytes::from(format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}},"config":{{}}}}"#
    ));
    let config_digest = sha256(&config);
    let sent = Arc::new(AtomicU64::new(0));
    for (bytes, digest) in [(&layer, &layer_digest), (&config, &config_digest)] {
        assert!(!repo.blob_exists(digest).await.unwrap(), "{digest}");
        let seen = sent.clone();
        repo.upload_blob(
            digest,
            bytes.len() as i64,
            source(bytes.clone()),
            &move |n| seen.store(n, Ordering::Relaxed),
        )
        .await
        .unwrap();
        assert!(repo.blob_exists(digest).await.unwrap(), "{digest}");
        assert_eq!(sent.load(Ordering::Relaxed), bytes.len() as u64);
    }
    let manifest = Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"{SCHEMA2}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{config_digest}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"{layer_digest}"}}]}}"#,
        config.len(),
        layer.len()
    ));
    let digest = repo
        .put_manifest(tag, SCHEMA2, manifest.clone())
        .await
        .unwrap();
    assert_eq!(digest, sha256(&manifest));
    Pushed {
        manifest,
        digest,
        layer,
        layer_digest,
    }
}

/// The host's outward address, or a printed reason to skip.
fn outward(test: &str) -> Option<IpAddr> {
    let ip = outward_ip();
    if ip.is_none() {
        eprintln!("skipping {test}: this host has no non-loopback address");
    }
    ip
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_registry_with_basic_auth_login_push_mount_and_pull() {
    let test = "tls_registry_with_basic_auth_login_push_mount_and_pull";
    if !can_run(test) {
        return;
    }
    let Some(ip) = outward(test) else { return };
    // On a non-loopback address the registry is secure: verified TLS, its CA from certs.d.
    let reg = Registry::start(ip, true);
    let host = reg.host();
    let r = registries(reg.certs_dir(true), &[]);

    // Login, right and wrong (dockerd 20.10's words and status for a basic-auth registry).
    let good = login_as(&host, USER, PASSWORD);
    let outcome = r.login(&good).await.unwrap();
    assert_eq!(outcome.identity_token, None);
    let e = r
        .login(&login_as(&format!("https://{host}/"), USER, "wrong"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::System);
    assert_eq!(
        e.message,
        format!("login attempt to https://{host}/v2/ failed with status: 401 Unauthorized")
    );

    // Upload a layer, a config and a manifest; HEAD sees them.
    let one = repo(&r, &format!("{host}/wharf/one"), &good, Access::Push);
    let pushed = push_image(&one, "v1", 1).await;

    // Manifest by tag and by digest, its descriptor, the layer streamed back byte for byte.
    let pull = repo(&r, &format!("{host}/wharf/one"), &good, Access::Pull);
    let by_tag = pull.manifest("v1").await.unwrap();
    assert_eq!(by_tag.bytes, pushed.manifest);
    assert_eq!(by_tag.media_type, SCHEMA2);
    assert_eq!(by_tag.digest, pushed.digest);
    let by_digest = pull.manifest(&pushed.digest).await.unwrap();
    assert_eq!(by_digest.bytes, pushed.manifest);
    let d = pull.manifest_descriptor("v1").await.unwrap();
    assert_eq!(
        (d.media_type.as_str(), d.digest.as_str(), d.size),
        (
            SCHEMA2,
            pushed.digest.as_str(),
            pushed.manifest.len() as i64
        )
    );
    let layer = collect(
        pull.blob(&pushed.layer_digest, pushed.layer.len() as i64)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(layer == pushed.layer, "the streamed layer differs");

    // The distribution endpoint's answer: descriptor and the config's platform.
    let inspect = crate::registry::distribution::inspect(
        &r,
        &Reference::parse(&format!("{host}/wharf/one:v1")).unwrap(),
        &good,
    )
    .await
    .unwrap();
    let v = serde_json::to_value(&inspect).unwrap();
    assert_eq!(v["Descriptor"]["digest"], pushed.digest.as_str());
    assert_eq!(
        v["Platforms"],
        serde_json::json!([{"architecture":"amd64","os":"linux"}])
    );

    // Mount across repositories: the layer is there without an upload; an unknown blob is not.
    let two = repo(&r, &format!("{host}/wharf/two"), &good, Access::Push);
    assert!(!two.blob_exists(&pushed.layer_digest).await.unwrap());
    assert!(two
        .mount_blob(&pushed.layer_digest, "wharf/one")
        .await
        .unwrap());
    assert!(two.blob_exists(&pushed.layer_digest).await.unwrap());
    let absent = sha256(b"absent");
    assert!(!two.mount_blob(&absent, "wharf/one").await.unwrap());
    assert!(!two.blob_exists(&absent).await.unwrap());

    // An unknown tag, a wrong password and no credentials, in dockerd's words.
    let e = pull.manifest("nope").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        format!("manifest for {host}/wharf/one:nope not found: manifest unknown: manifest unknown")
    );
    let e = pull.manifest_descriptor("nope").await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotFound, "manifest unknown: manifest unknown")
    );
    let wrong = repo(
        &r,
        &format!("{host}/wharf/one"),
        &login_as(&host, USER, "wrong"),
        Access::Pull,
    );
    let e = wrong.manifest("v1").await.unwrap_err();
    assert_eq!(e.message, "unauthorized: authentication required");
    let anonymous = repo(
        &r,
        &format!("{host}/wharf/one"),
        &RegistryAuth::default(),
        Access::Pull,
    );
    let e = anonymous.manifest_descriptor("v1").await.unwrap_err();
    assert_eq!(
        e.message,
        format!("Head \"https://{host}/v2/wharf/one/manifests/v1\": no basic auth credentials")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_not_in_certs_d_is_refused_unless_the_registry_is_insecure() {
    let test = "a_ca_not_in_certs_d_is_refused_unless_the_registry_is_insecure";
    if !can_run(test) {
        return;
    }
    let Some(ip) = outward(test) else { return };
    let reg = Registry::start(ip, true);
    let host = reg.host();
    let good = login_as(&host, USER, PASSWORD);
    let r = registries(reg.certs_dir(false), &[]);
    let e = r.login(&good).await.unwrap_err();
    assert_eq!(
        e.message,
        format!("Get \"https://{host}/v2/\": x509: certificate signed by unknown authority")
    );
    let e = repo(&r, &format!("{host}/x"), &good, Access::Pull)
        .manifest("v1")
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        format!("Get \"https://{host}/v2/\": x509: certificate signed by unknown authority")
    );
    // Listed as insecure (by name, or by a block holding its address): TLS without verification.
    for listed in [host.clone(), format!("{ip}/32")] {
        let r = registries(reg.certs_dir(false), &[listed]);
        r.login(&good).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_used_only_for_insecure_registries() {
    let test = "plain_http_is_used_only_for_insecure_registries";
    if !can_run(test) {
        return;
    }
    let Some(ip) = outward(test) else { return };
    let empty = tempfile::tempdir().unwrap();
    let reg = Registry::start(ip, false);
    let host = reg.host();
    let anonymous = RegistryAuth::default();
    // Not listed: HTTPS only, and dockerd's words for a plain-HTTP answer.
    let r = registries(empty.path().into(), &[]);
    let e = repo(&r, &format!("{host}/plain"), &anonymous, Access::Push)
        .blob_exists(&sha256(b"x"))
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        format!("Get \"https://{host}/v2/\": http: server gave HTTP response to HTTPS client")
    );
    let e = r.login(&login_as(&host, "", "")).await.unwrap_err();
    assert!(
        e.message
            .contains("server gave HTTP response to HTTPS client"),
        "{e}"
    );
    // Listed: HTTPS fails, plain HTTP works, for pushes and pulls.
    let r = registries(empty.path().into(), std::slice::from_ref(&host));
    let pushed = push_image(
        &repo(&r, &format!("{host}/plain"), &anonymous, Access::Push),
        "v1",
        2,
    )
    .await;
    let got = repo(&r, &format!("{host}/plain"), &anonymous, Access::Pull)
        .manifest("v1")
        .await
        .unwrap();
    assert_eq!(got.digest, pushed.digest);
    r.login(&login_as(&host, "", "")).await.unwrap();
    // A loopback registry is insecure without being listed, as with dockerd.
    let local = Registry::start("127.0.0.1".parse().unwrap(), false);
    let r = registries(empty.path().into(), &[]);
    push_image(
        &repo(
            &r,
            &format!("{}/plain", local.host()),
            &anonymous,
            Access::Push,
        ),
        "v1",
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_failing_for_a_moment_is_retried_and_a_cut_download_resumed() {
    let test = "a_registry_failing_for_a_moment_is_retried_and_a_cut_download_resumed";
    if !can_run(test) {
        return;
    }
    let reg = Registry::start("127.0.0.1".parse().unwrap(), false);
    let empty = tempfile::tempdir().unwrap();
    let r = registries(empty.path().into(), &[]);
    let anonymous = RegistryAuth::default();
    let pushed = push_image(
        &repo(
            &r,
            &format!("{}/flaky", reg.host()),
            &anonymous,
            Access::Push,
        ),
        "v1",
        4,
    )
    .await;

    // Two 500s on the manifest, then the registry's answer.
    let proxy = FaultProxy::start(reg.addr, "/manifests/", Fault::Fail(2)).await;
    let via = |p: &FaultProxy| format!("{}/flaky", p.addr);
    let got = repo(&r, &via(&proxy), &anonymous, Access::Pull)
        .manifest("v1")
        .await
        .unwrap();
    assert_eq!(got.digest, pushed.digest);
    assert_eq!(proxy.injected.load(Ordering::SeqCst), 2);

    // Always 500: a few attempts, then dockerd's words.
    let proxy = FaultProxy::start(reg.addr, "/manifests/", Fault::AlwaysFail).await;
    let e = repo(&r, &via(&proxy), &anonymous, Access::Pull)
        .manifest("v1")
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "received unexpected HTTP status: 500 Internal Server Error"
    );
    assert_eq!(proxy.injected.load(Ordering::SeqCst), 4);

    // A blob download cut after 1 MiB resumes from there with a Range request; the bytes match.
    let proxy = FaultProxy::start(reg.addr, "/blobs/sha256:", Fault::CutOnce(1 << 20)).await;
    let layer = collect(
        repo(&r, &via(&proxy), &anonymous, Access::Pull)
            .blob(&pushed.layer_digest, pushed.layer.len() as i64)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(layer == pushed.layer, "the resumed layer differs");
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.contains("/blobs/") && l.to_ascii_lowercase().contains("[range: bytes=")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_hub_images_are_pulled_from_a_mirror_first() {
    let test = "docker_hub_images_are_pulled_from_a_mirror_first";
    if !can_run(test) {
        return;
    }
    let reg = Registry::start("127.0.0.1".parse().unwrap(), false);
    let empty = tempfile::tempdir().unwrap();
    let anonymous = RegistryAuth::default();
    let direct = registries(empty.path().into(), &[]);
    let pushed = push_image(
        &repo(
            &direct,
            &format!("{}/library/mirrored", reg.host()),
            &anonymous,
            Access::Push,
        ),
        "v1",
        5,
    )
    .await;
    // Through a proxy, to see that the requests went to the mirror.
    let proxy = FaultProxy::start(reg.addr, "never", Fault::Fail(0)).await;
    let hub = Registries::new(RegistryConfig {
        mirrors: vec![format!("http://{}/", proxy.addr)],
        certs_dir: empty.path().into(),
        ..RegistryConfig::default()
    });
    let mirrored = repo(&hub, "mirrored", &anonymous, Access::Pull);
    assert_eq!(mirrored.domain, "docker.io");
    let got = mirrored.manifest("v1").await.unwrap();
    assert_eq!(got.digest, pushed.digest);
    let layer = collect(
        mirrored
            .blob(&pushed.layer_digest, pushed.layer.len() as i64)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(layer == pushed.layer);
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("GET /v2/library/mirrored/manifests/v1")),
        "{seen:?}"
    );
}
