//! Registries end to end: the docker CLI against the daemon and a real registry (Debian's
//! `docker-registry`, distribution 2.8) started by the test — login, push, pull by tag and by digest,
//! `docker run` (of a missing image too), a multi-platform index, logout; and the faults: a tampered
//! blob, a registry killed mid-pull, a wrong password, an unknown tag, an untrusted certificate, a
//! plain-HTTP registry that was not listed as insecure. Each fault is a clear error, and the next pull
//! succeeds.
//!
//! The scenarios run against wharfd, or against the reference dockerd with `WHARF_E2E_AGAINST=dockerd`
//! (to check they assert what dockerd does). `pulls_match_dockerd` runs both side by side: the same
//! progress statuses per layer and the same error messages.
//!
//! They need root, containerd, a static busybox and the registry; without them they print why and pass,
//! except under CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::collections::BTreeMap;
use std::net::SocketAddr;

use wharf_tests::cli::{docker, fails, ok};
use wharf_tests::cutproxy::CutProxy;
use wharf_tests::oci::{self, Image};
use wharf_tests::registry::{self, DockerdTrust, Registry};
use wharf_tests::{prereq, Against, Daemon, RefDockerd, RunCommand, TempDir, Wharfd};

const USER: &str = "wharf";
const PASSWORD: &str = "s3cret-pw";

fn can_run(test: &str, against: Against) -> bool {
    let missing = against
        .missing()
        .or_else(wharf_tests::rootfs::missing_busybox)
        .or_else(registry::missing_registry);
    prereq::can_run(test, missing)
}

/// A daemon set up to reach the test's registries, with a docker CLI environment of its own (its own
/// `DOCKER_CONFIG`, so logins stay in the test).
struct Setup {
    daemon: Daemon,
    env: Vec<(String, String)>,
    config: TempDir,
    _trust: Vec<DockerdTrust>,
}

impl Setup {
    /// `against`, trusting `trusted`'s CAs and taking `insecure` as plain-HTTP registries.
    fn start(against: Against, trusted: &[&Registry], insecure: &[String]) -> Setup {
        let mut args: Vec<String> = Vec::new();
        for host in insecure {
            args.push("--insecure-registry".into());
            args.push(host.clone());
        }
        let mut trust = Vec::new();
        let config = TempDir::new("dc").unwrap();
        let daemon = match against {
            Against::Wharfd => {
                // One certs.d for all, each registry's CA in its own directory, kept with the setup.
                let dir = config.path().join("certs.d");
                for r in trusted {
                    let src = r.certs_d().unwrap().join(r.host());
                    let dst = dir.join(r.host());
                    std::fs::create_dir_all(&dst).unwrap();
                    std::fs::copy(src.join("ca.crt"), dst.join("ca.crt")).unwrap();
                }
                std::fs::create_dir_all(&dir).unwrap();
                args.push("--registry-certs-dir".into());
                args.push(dir.display().to_string());
                Daemon::Wharfd(Wharfd::builder().args(&args).start().unwrap())
            }
            Against::Dockerd => {
                for r in trusted {
                    trust.push(DockerdTrust::install(r).unwrap());
                }
                Daemon::Dockerd(RefDockerd::builder().args(&args).start().unwrap())
            }
        };
        let mut env = daemon.docker_env();
        env.push(("DOCKER_CONFIG".into(), config.path().display().to_string()));
        Setup {
            daemon,
            env,
            config,
            _trust: trust,
        }
    }

    fn config_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.config.path().join("config.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `POST /images/create` through the daemon's socket: the raw progress messages.
    fn pull_messages(&self, image: &str, tag: &str) -> Vec<serde_json::Value> {
        let socket = match &self.daemon {
            Daemon::Wharfd(d) => d.socket().to_owned(),
            Daemon::Dockerd(d) => d.socket().to_owned(),
        };
        let url = format!(
            "http://d/v1.41/images/create?fromImage={}&tag={tag}",
            image.replace(':', "%3A").replace('/', "%2F")
        );
        let out = RunCommand::new("curl")
            .args(["-sS", "-X", "POST", "--unix-socket"])
            .arg(&socket)
            .arg(url)
            .timeout(std::time::Duration::from_secs(240))
            .run()
            .unwrap();
        out.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }
}

fn against() -> Against {
    Against::from_env().unwrap()
}

/// A busybox image made in `dir` with two more layers; pushed nowhere yet.
fn busybox_image(dir: &std::path::Path, seed: u64) -> Image {
    let rootfs = std::fs::read(wharf_tests::rootfs::busybox_tar(dir).unwrap()).unwrap();
    let data = oci::layer(&[("data/random", oci::random_bytes(3 << 20, seed))]).unwrap();
    let text = oci::layer(&[("data/notes.txt", oci::text_bytes(1 << 20, seed))]).unwrap();
    Image::new("amd64", vec![rootfs, data, text], &["sh"])
}

/// The image loaded into the daemon as `name`.
fn load(setup: &Setup, image: &Image, name: &str) {
    let tar = setup.config.path().join("image.tar");
    image.write_archive(&tar, name).unwrap();
    ok(&setup.env, &["load", "-i", tar.to_str().unwrap()]);
}

#[test]
fn login_push_pull_run_and_logout_with_a_tls_registry() {
    let against = against();
    if !can_run(
        "login_push_pull_run_and_logout_with_a_tls_registry",
        against,
    ) {
        return;
    }
    let registry = Registry::builder()
        .tls()
        .user(USER, PASSWORD)
        .start()
        .unwrap();
    let host = registry.host();
    let s = Setup::start(against, &[&registry], &[]);
    let env = &s.env;

    // A wrong password is refused by the registry, and nothing is kept.
    let err = fails(env, &["login", "-u", USER, "-p", "wrong", &host]);
    assert!(
        err.contains(&format!(
            "login attempt to https://{host}/v2/ failed with status: 401 Unauthorized"
        )),
        "{err}"
    );
    assert!(
        !s.config.path().join("config.json").exists()
            || s.config_json()["auths"].get(&host).is_none()
    );
    // The right one is kept where the docker CLI keeps it.
    let out = ok(env, &["login", "-u", USER, "-p", PASSWORD, &host]);
    assert!(out.contains("Login Succeeded"), "{out}");
    assert!(s.config_json()["auths"][&host]["auth"].is_string());

    // Push a loaded image of three layers.
    let dir = TempDir::new("ri").unwrap();
    let image = busybox_image(dir.path(), 1);
    let name = format!("{host}/team/app:1");
    load(&s, &image, &name);
    let pushed = ok(env, &["push", &name]);
    let digest = pushed
        .lines()
        .find_map(|l| l.strip_prefix("1: digest: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in:\n{pushed}"))
        .to_owned();
    assert_eq!(pushed.matches(": Pushed").count(), 3, "{pushed}");
    // The registry holds the manifest.
    let manifest = registry.blob_path(&digest);
    assert!(manifest.exists(), "{}", manifest.display());

    // Removed, then pulled back by tag: the same image, its RepoDigests the registry's.
    ok(env, &["rmi", &name]);
    let pulled = ok(env, &["pull", &name]);
    assert!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    assert!(
        pulled.contains(&format!("Status: Downloaded newer image for {name}")),
        "{pulled}"
    );
    assert_eq!(pulled.matches(": Pull complete").count(), 3, "{pulled}");
    let inspected = ok(
        env,
        &[
            "inspect",
            "--format",
            "{{.Id}} {{json .RepoDigests}}",
            &name,
        ],
    );
    assert_eq!(
        inspected.trim(),
        format!("{} [\"{host}/team/app@{digest}\"]", image.id())
    );
    // Pulled again: nothing to do.
    let again = ok(env, &["pull", &name]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );

    // By digest.
    ok(env, &["rmi", &name]);
    let by_digest = format!("{host}/team/app@{digest}");
    ok(env, &["pull", &by_digest]);
    let id = ok(env, &["inspect", "--format", "{{.Id}}", &by_digest]);
    assert_eq!(id.trim(), image.id());
    let out = ok(env, &["run", "--rm", &by_digest, "cat", "/etc/hello"]);
    assert_eq!(out, "hi\n");

    // `docker run` of an image not present pulls it first.
    ok(env, &["rmi", &by_digest]);
    let run = docker(env, &["run", "--rm", &name, "cat", "/etc/hello"]);
    assert!(run.success(), "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "hi\n");
    assert!(
        run.stderr.contains("Unable to find image"),
        "{}",
        run.stderr
    );

    // Logged out, the registry refuses the pull.
    let out = ok(env, &["logout", &host]);
    assert!(
        out.contains(&format!("Removing login credentials for {host}")),
        "{out}"
    );
    ok(env, &["rmi", &name]);
    let err = fails(env, &["pull", &name]);
    assert!(
        err.contains("no basic auth credentials") || err.contains("unauthorized"),
        "{err}"
    );
}

#[test]
fn a_multi_platform_index_pulls_the_daemons_platform_or_the_one_asked() {
    let against = against();
    if !can_run(
        "a_multi_platform_index_pulls_the_daemons_platform_or_the_one_asked",
        against,
    ) {
        return;
    }
    let registry = Registry::builder().start().unwrap();
    let host = registry.host();
    let dir = TempDir::new("mp").unwrap();
    let amd64 = busybox_image(dir.path(), 2);
    let arm64 = Image::new(
        "arm64",
        vec![oci::layer(&[("arm", b"not runnable here".to_vec())]).unwrap()],
        &["sh"],
    );
    let url = registry.url();
    let a = amd64.push(&url, "multi", "amd64").unwrap();
    let b = arm64.push(&url, "multi", "arm64").unwrap();
    let index = oci::push_index(
        &url,
        "multi",
        "1",
        &[(a.0.clone(), a.1, "amd64"), (b.0, b.1, "arm64")],
    )
    .unwrap();
    let s = Setup::start(against, &[], std::slice::from_ref(&host));
    let env = &s.env;
    let name = format!("{host}/multi:1");
    let pulled = ok(env, &["pull", &name]);
    assert!(pulled.contains(&format!("Digest: {index}")), "{pulled}");
    let got = ok(
        env,
        &["inspect", "--format", "{{.Id}} {{.Architecture}}", &name],
    );
    assert_eq!(got.trim(), format!("{} amd64", amd64.id()));
    let out = ok(env, &["run", "--rm", &name, "cat", "/etc/hello"]);
    assert_eq!(out, "hi\n");
    ok(env, &["rmi", &name]);
    ok(env, &["pull", "--platform", "linux/arm64", &name]);
    let got = ok(
        env,
        &["inspect", "--format", "{{.Id}} {{.Architecture}}", &name],
    );
    assert_eq!(got.trim(), format!("{} arm64", arm64.id()));
}

/// What a failed `docker pull` printed, for comparing daemons: digests and ports made neutral.
fn normalise(text: &str, hosts: &[(String, &str)]) -> String {
    // The last line: the CLI's own warnings come before the error.
    let mut out = text.trim().lines().last().unwrap_or_default().to_owned();
    for (host, label) in hosts {
        out = out.replace(host.as_str(), label);
    }
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("sha256:") {
        result.push_str(&rest[..i]);
        result.push_str("sha256:X");
        let tail = &rest[i + 7..];
        let hex = tail.chars().take_while(char::is_ascii_hexdigit).count();
        rest = &tail[hex..];
    }
    result.push_str(rest);
    result
}

/// The faults, each asserted clear and followed by a pull that works; the normalised errors, by fault.
fn faults(against: Against) -> BTreeMap<&'static str, String> {
    let mut errors = BTreeMap::new();
    let mut plain = Registry::builder().start().unwrap();
    let secure = Registry::builder()
        .tls()
        .user(USER, PASSWORD)
        .start()
        .unwrap();
    let untrusted = Registry::builder().tls().start().unwrap();
    let dir = TempDir::new("ft").unwrap();
    let good = busybox_image(dir.path(), 3);
    let bad = Image::new(
        "amd64",
        vec![oci::layer(&[("big", oci::random_bytes(4 << 20, 4))]).unwrap()],
        &["sh"],
    );
    let url = plain.url();
    good.push(&url, "good", "1").unwrap();
    bad.push(&url, "tampered", "1").unwrap();
    good.push(&url, "cut", "1").unwrap();
    // The tampered image's one layer: its gzipped blob, found through the manifest.
    let manifest = RunCommand::new("curl")
        .args(["-sS", "-H", &format!("Accept: {}", oci::MANIFEST_V2)])
        .arg(format!("{url}/v2/tampered/manifests/1"))
        .run()
        .unwrap()
        .stdout;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    plain.tamper_blob(&layer).unwrap();
    let proxy = CutProxy::start(SocketAddr::new(plain.addr().ip(), 0), plain.addr()).unwrap();
    let proxied = proxy.addr().to_string();

    // The plain registry is listed as insecure (also through the proxy); the untrusted one's CA is not
    // given, nor is a second plain registry listed.
    let unlisted = Registry::builder().start().unwrap();
    good.push(&unlisted.url(), "good", "1").unwrap();
    let s = Setup::start(against, &[&secure], &[plain.host(), proxied.clone()]);
    let env = &s.env;
    let hosts = [
        (plain.host(), "PLAIN"),
        (secure.host(), "SECURE"),
        (untrusted.host(), "UNTRUSTED"),
        (unlisted.host(), "UNLISTED"),
        (proxied.clone(), "PROXIED"),
    ];
    let good_name = format!("{}/good:1", plain.host());

    let fault = |name: &'static str, image: &str, errors: &mut BTreeMap<_, _>| {
        let err = fails(env, &["pull", image]);
        assert!(!err.trim().is_empty(), "{name}: an empty error");
        errors.insert(name, normalise(&err, &hosts));
        // Nothing of it is left as an image, and a good pull works right after.
        let listed = ok(env, &["images", "-q", image]);
        assert_eq!(
            listed.trim(),
            "",
            "{name}: {image} is listed after a failed pull"
        );
        ok(env, &["pull", &good_name]);
        ok(env, &["rmi", &good_name]);
    };

    fault(
        "unknown tag",
        &format!("{}/good:nope", plain.host()),
        &mut errors,
    );
    assert!(
        errors["unknown tag"].contains("manifest unknown"),
        "{errors:?}"
    );

    fault(
        "tampered blob",
        &format!("{}/tampered:1", plain.host()),
        &mut errors,
    );
    assert!(errors["tampered blob"].contains("sha256:X"), "{errors:?}");

    fault(
        "untrusted certificate",
        &format!("{}/good:1", untrusted.host()),
        &mut errors,
    );
    assert!(
        errors["untrusted certificate"].contains("certificate"),
        "{errors:?}"
    );

    fault(
        "plain HTTP not listed",
        &format!("{}/good:1", unlisted.host()),
        &mut errors,
    );
    assert!(
        errors["plain HTTP not listed"].contains("HTTPS"),
        "{errors:?}"
    );

    fault(
        "no credentials",
        &format!("{}/good:1", secure.host()),
        &mut errors,
    );
    let err = fails(env, &["login", "-u", USER, "-p", "wrong", &secure.host()]);
    errors.insert("wrong password", normalise(&err, &hosts));
    assert!(
        errors["wrong password"].contains("401 Unauthorized"),
        "{errors:?}"
    );

    // The registry dies a megabyte into the first layer: SIGKILL, and its connections drop.
    let pid = nix::unistd::Pid::from_raw(plain.pid().unwrap() as i32);
    proxy.cut_after_then(1 << 20, move || {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    });
    let cut = format!("{proxied}/cut:1");
    // dockerd retries a layer five times, 5 s more apart each time: a minute before it gives up.
    let out = RunCommand::new("docker")
        .envs(env.iter().cloned())
        .args(["pull", &cut])
        .timeout(std::time::Duration::from_secs(300))
        .run()
        .unwrap();
    assert!(!out.success(), "{}", out.stdout);
    let err = out.stderr;
    assert!(proxy.is_cut(), "the pull ended before the cut: {err}");
    errors.insert("registry killed mid-pull", normalise(&err, &hosts));
    assert_eq!(ok(env, &["images", "-q", &cut]).trim(), "");
    assert!(plain.pid().is_some());
    plain.restart().unwrap();
    proxy.restore();
    ok(env, &["pull", &cut]);
    let id = ok(env, &["inspect", "--format", "{{.Id}}", &cut]);
    assert_eq!(id.trim(), good.id());
    errors
}

#[test]
fn registry_faults_are_clear_errors_and_the_next_pull_succeeds() {
    let against = against();
    if !can_run(
        "registry_faults_are_clear_errors_and_the_next_pull_succeeds",
        against,
    ) {
        return;
    }
    let errors = faults(against);
    eprintln!("{against}'s errors: {errors:#?}");
}

/// Per layer (numbered in order of first appearance), the statuses it went through, repeats folded;
/// and the messages without an id, in order.
fn progress_shape(messages: &[serde_json::Value]) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let mut plain = Vec::new();
    let mut layers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for m in messages {
        let status = m["status"].as_str().unwrap_or_default();
        let status = normalise(status, &[]);
        match m["id"].as_str() {
            Some(id) if m.get("progressDetail").is_some() => {
                let n = names.len();
                let label = names
                    .entry(id.to_owned())
                    .or_insert_with(|| format!("L{n}"))
                    .clone();
                let seq = layers.entry(label).or_default();
                if seq.last() != Some(&status) {
                    seq.push(status);
                }
            }
            Some(id) => plain.push(format!("{id}: {status}")),
            None => plain.push(status),
        }
    }
    (plain, layers)
}

#[test]
fn pulls_match_dockerd() {
    if !can_run("pulls_match_dockerd", Against::Wharfd)
        || !can_run("pulls_match_dockerd", Against::Dockerd)
    {
        return;
    }
    let registry = Registry::builder().start().unwrap();
    let host = registry.host();
    let dir = TempDir::new("pd").unwrap();
    let image = busybox_image(dir.path(), 5);
    image.push(&registry.url(), "same", "1").unwrap();
    let name = format!("{host}/same");
    let mut shapes = Vec::new();
    for against in [Against::Dockerd, Against::Wharfd] {
        let s = Setup::start(against, &[], std::slice::from_ref(&host));
        let first = s.pull_messages(&name, "1");
        let second = s.pull_messages(&name, "1");
        shapes.push((against, progress_shape(&first), progress_shape(&second)));
    }
    let (_, d_first, d_second) = &shapes[0];
    let (_, w_first, w_second) = &shapes[1];
    // dockerd hands each layer's watcher only its latest status (moby's transfer watchers coalesce), so
    // under load it may skip one ("Verifying Checksum"); wharfd sends every one. The plain lines must be
    // equal, and each of dockerd's layer sequences must appear in order in wharfd's, same first and last.
    assert_eq!(
        w_first.0, d_first.0,
        "a fresh pull's lines differ from dockerd's"
    );
    assert_eq!(
        w_first.1.keys().collect::<Vec<_>>(),
        d_first.1.keys().collect::<Vec<_>>(),
        "a fresh pull's layers differ from dockerd's"
    );
    for (layer, d_seq) in &d_first.1 {
        let w_seq = &w_first.1[layer];
        let mut w = w_seq.iter();
        let in_order = d_seq.iter().all(|d| w.any(|x| x == d));
        assert!(
            in_order && w_seq.first() == d_seq.first() && w_seq.last() == d_seq.last(),
            "layer {layer}: wharfd {w_seq:?}, dockerd {d_seq:?}"
        );
    }
    assert_eq!(
        w_second, d_second,
        "a pull of an image present differs from dockerd's"
    );
    // Every layer went through the statuses the docker CLI draws.
    for seq in d_first.1.values() {
        assert!(seq.contains(&"Pull complete".to_owned()), "{seq:?}");
    }

    let dockerd = faults(Against::Dockerd);
    let wharfd = faults(Against::Wharfd);
    // Where the connection drops decides which download reports it (a layer's or the config's): that
    // one error is compared only for being an error, above.
    let differing: Vec<String> = dockerd
        .iter()
        .filter(|(k, _)| **k != "registry killed mid-pull")
        .filter(|(k, v)| wharfd.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}:\n  dockerd: {v}\n  wharfd:  {}",
                wharfd.get(k).map_or("", String::as_str)
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "errors differ from dockerd's:\n{}",
        differing.join("\n")
    );
}

/// The `wharf` CLI with `env`.
fn wharf(env: &[(String, String)], args: &[&str]) -> wharf_tests::CommandOutput {
    let bin = wharf_tests::Binaries::locate().unwrap().wharf().unwrap();
    RunCommand::new(bin)
        .envs(env.iter().cloned())
        .args(args)
        .timeout(std::time::Duration::from_secs(240))
        .run()
        .expect("wharf runs")
}

#[test]
fn wharf_logs_in_pulls_and_pushes_sharing_the_docker_clis_logins() {
    let against = against();
    if !can_run(
        "wharf_logs_in_pulls_and_pushes_sharing_the_docker_clis_logins",
        against,
    ) {
        return;
    }
    let registry = Registry::builder()
        .tls()
        .user(USER, PASSWORD)
        .start()
        .unwrap();
    let host = registry.host();
    let s = Setup::start(against, &[&registry], &[]);
    let env = &s.env;

    let out = wharf(env, &["login", "-u", USER, "-p", "wrong", &host]);
    assert!(!out.success());
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    // --password-stdin, as scripts log in.
    let bin = wharf_tests::Binaries::locate().unwrap().wharf().unwrap();
    let script = format!(
        "printf '%s\\n' '{PASSWORD}' | {} login -u {USER} --password-stdin {host}",
        bin.display()
    );
    let out = RunCommand::new("sh")
        .args(["-c", &script])
        .envs(env.iter().cloned())
        .run()
        .unwrap();
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(out.stdout, "Login Succeeded\n");
    // Kept as the docker CLI keeps it, so docker uses it: a push by docker with wharf's login.
    let auth = s.config_json()["auths"][&host]["auth"]
        .as_str()
        .unwrap()
        .to_owned();
    let decoded = RunCommand::new("sh")
        .args(["-c", &format!("printf %s '{auth}' | base64 -d")])
        .run()
        .unwrap()
        .stdout;
    assert_eq!(decoded, format!("{USER}:{PASSWORD}"));
    let dir = TempDir::new("wc").unwrap();
    let image = busybox_image(dir.path(), 6);
    let name = format!("{host}/cli/app:2");
    load(&s, &image, &name);
    let out = wharf(env, &["push", &name]);
    assert!(out.success(), "{}", out.stderr);
    // Not a terminal: one line per step, no bars.
    assert_eq!(
        out.stdout.matches(": Pushed\n").count(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("[=") && !out.stdout.contains("Pushing"),
        "{}",
        out.stdout
    );
    ok(env, &["rmi", &name]);

    let out = wharf(env, &["pull", &name]);
    assert!(out.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"2: Pulling from cli/app"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches(": Pull complete\n").count(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Digest: sha256:")),
        "{}",
        out.stdout
    );
    assert_eq!(
        &lines[lines.len() - 2..],
        [
            format!("Status: Downloaded newer image for {name}"),
            name.clone()
        ]
    );
    let id = ok(env, &["inspect", "--format", "{{.Id}}", &name]);
    assert_eq!(id.trim(), image.id());

    // An error inside the progress stream is the command's error.
    let out = wharf(env, &["pull", &format!("{host}/cli/app:nope")]);
    assert!(!out.success());
    assert!(out.stderr.contains("manifest unknown"), "{}", out.stderr);

    // Logged out by wharf, docker has no login either.
    let out = wharf(env, &["logout", &host]);
    assert_eq!(
        out.stdout,
        format!("Removing login credentials for {host}\n")
    );
    assert_eq!(
        wharf(env, &["logout", &host]).stdout,
        format!("Not logged in to {host}\n")
    );
    ok(env, &["rmi", &name]);
    let err = fails(env, &["pull", &name]);
    assert!(err.contains("no basic auth credentials"), "{err}");

    // A docker login is wharf's too.
    ok(env, &["login", "-u", USER, "-p", PASSWORD, &host]);
    let out = wharf(env, &["pull", &name]);
    assert!(out.success(), "{}", out.stderr);

    // A credential helper wharf cannot run is refused clearly.
    std::fs::write(
        s.config.path().join("config.json"),
        r#"{"credsStore":"desktop"}"#,
    )
    .unwrap();
    let out = wharf(env, &["pull", &name]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("docker-credential-desktop"),
        "{}",
        out.stderr
    );
}
