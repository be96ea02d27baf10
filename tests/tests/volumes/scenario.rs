//! The docker-CLI scenario of `volumes_as_dockerds_local_driver`, as named checks run in order against
//! one daemon: each may use what earlier ones left, and cleans up what it made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use wharf_tests::cli::{daemon_error, fails, fails_with, ok, Env};
use wharf_tests::{checks, eventually, Check};

use crate::{now, IMAGE};

/// The daemon under test and where its volumes live.
pub struct Ctx {
    pub env: Vec<(String, String)>,
    /// `<data-root>/volumes`.
    pub volumes: PathBuf,
    /// When the scenario began, for `docker events --since`.
    pub since: String,
}

impl Ctx {
    fn mountpoint(&self, name: &str) -> String {
        self.volumes.join(name).join("_data").display().to_string()
    }
}

/// The host's mount table lines that name this daemon's volumes.
fn host_volume_mounts(ctx: &Ctx) -> Vec<String> {
    let wanted = ctx.volumes.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&wanted))
        .map(str::to_owned)
        .collect()
}

fn lines(out: &str) -> Vec<&str> {
    let mut v: Vec<&str> = out.lines().collect();
    v.sort_unstable();
    v
}

fn inspect_json(env: &Env, what: &str, name: &str) -> Value {
    let out = ok(env, &[what, "inspect", name]);
    let list: Value = serde_json::from_str(&out).unwrap();
    list[0].clone()
}

/// The mounts of container `name` as inspect shows them, by destination.
fn mounts(env: &Env, name: &str) -> Vec<Value> {
    let out = ok(env, &["inspect", "-f", "{{json .Mounts}}", name]);
    let mut list: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
    list.sort_by_key(|m| m["Destination"].as_str().unwrap_or("").to_owned());
    list
}

fn create_ls_inspect_rm_with_labels_and_filters(ctx: &Ctx) {
    let env = &ctx.env[..];
    assert_eq!(
        ok(env, &["volume", "create", "--label", "env=prod", "v-prod"]).trim(),
        "v-prod"
    );
    ok(env, &["volume", "create", "--label", "env=dev", "v-dev"]);
    ok(env, &["volume", "create", "v-plain"]);
    let v = inspect_json(env, "volume", "v-prod");
    let created = v["CreatedAt"].as_str().unwrap().to_owned();
    assert_eq!(
        v,
        json!({
            "CreatedAt": created,
            "Driver": "local",
            "Labels": {"env": "prod"},
            "Mountpoint": ctx.mountpoint("v-prod"),
            "Name": "v-prod",
            "Options": null,
            "Scope": "local",
        })
    );
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert!(Path::new(&ctx.mountpoint("v-prod")).is_dir());
    let plain = inspect_json(env, "volume", "v-plain");
    assert_eq!(
        (&plain["Labels"], &plain["Options"]),
        (&Value::Null, &Value::Null)
    );
    let ls = |filters: &[&str]| {
        let mut args = vec!["volume", "ls", "-q"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        ok(env, &args)
    };
    assert_eq!(ls(&["label=env=prod"]), "v-prod\n");
    assert_eq!(lines(&ls(&["label=env"])), ["v-dev", "v-prod"]);
    assert_eq!(lines(&ls(&["name=v-"])), ["v-dev", "v-plain", "v-prod"]);
    assert_eq!(ls(&["name=v-", "label=env=dev"]), "v-dev\n");
    assert_eq!(ls(&["driver=local", "label=env=dev"]), "v-dev\n");
    ok(
        env,
        &[
            "create", "--name", "v-user", "-v", "v-dev:/d", IMAGE, "true",
        ],
    );
    let dangling = ls(&["dangling=true", "name=v-"]);
    assert_eq!(lines(&dangling), ["v-plain", "v-prod"]);
    assert_eq!(ls(&["dangling=false", "name=v-"]), "v-dev\n");
    ok(env, &["rm", "v-user"]);
    fails_with(
        env,
        &["volume", "create", "b@d"],
        "create b@d: \"b@d\" includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use \
         absolute path",
    );
    fails_with(
        env,
        &["volume", "create", "-o", "foo=bar", "v-bad"],
        "create v-bad: invalid option: \"foo\"",
    );
    fails_with(
        env,
        &["volume", "create", "-o", "type=tmpfs", "v-bad"],
        "create v-bad: missing required option: \"device\"",
    );
    assert_eq!(
        ok(env, &["volume", "rm", "v-plain", "v-dev"]),
        "v-plain\nv-dev\n"
    );
    assert!(!Path::new(&ctx.mountpoint("v-plain")).exists());
    fails_with(
        env,
        &["volume", "inspect", "v-plain"],
        "get v-plain: no such volume",
    );
    fails_with(
        env,
        &["volume", "rm", "v-plain"],
        "get v-plain: no such volume",
    );
    ok(env, &["volume", "rm", "-f", "v-plain"]);
}

fn a_file_survives_rm_and_is_seen_by_a_second_container(ctx: &Ctx) {
    let env = &ctx.env[..];
    ok(
        env,
        &[
            "run",
            "--name",
            "writer",
            "-v",
            "data:/data",
            IMAGE,
            "sh",
            "-c",
            "echo kept > /data/f",
        ],
    );
    ok(env, &["rm", "writer"]);
    let out = ok(
        env,
        &["run", "--rm", "-v", "data:/mnt:ro", IMAGE, "cat", "/mnt/f"],
    );
    assert_eq!(out, "kept\n");
    assert_eq!(
        std::fs::read_to_string(Path::new(&ctx.mountpoint("data")).join("f")).unwrap(),
        "kept\n"
    );
    let stderr = fails(
        env,
        &[
            "run",
            "--rm",
            "-v",
            "data:/mnt:ro",
            IMAGE,
            "touch",
            "/mnt/g",
        ],
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
}

fn two_running_containers_share_a_volume_and_it_is_in_use(ctx: &Ctx) {
    let env = &ctx.env[..];
    let a = ok(
        env,
        &[
            "run",
            "-d",
            "--name",
            "s1",
            "-v",
            "shared:/s",
            IMAGE,
            "sleep",
            "60",
        ],
    );
    let b = ok(
        env,
        &[
            "run",
            "-d",
            "--name",
            "s2",
            "-v",
            "shared:/t",
            IMAGE,
            "sleep",
            "60",
        ],
    );
    ok(env, &["exec", "s1", "sh", "-c", "echo from-s1 > /s/x"]);
    let ps = |filter: &str| {
        lines(&ok(
            env,
            &["ps", "--format", "{{.Names}}", "--filter", filter],
        ))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    assert_eq!(ps("volume=shared"), ["s1", "s2"]);
    assert_eq!(ps("volume=/t"), ["s2"]);
    assert!(ps("volume=nope").is_empty());
    assert_eq!(ok(env, &["exec", "s2", "cat", "/t/x"]), "from-s1\n");
    let stderr = fails(env, &["volume", "rm", "shared"]);
    let message = daemon_error(&stderr);
    assert!(
        message.starts_with("remove shared: volume is in use - [") && message.ends_with(']'),
        "{stderr}"
    );
    assert!(
        message.contains(a.trim()) && message.contains(b.trim()),
        "{message}"
    );
    ok(env, &["rm", "-f", "s1", "s2"]);
    ok(
        env,
        &["create", "--name", "holder", "-v", "held:/h", IMAGE, "true"],
    );
    let holder = ok(env, &["inspect", "-f", "{{.Id}}", "holder"]);
    let in_use = format!("remove held: volume is in use - [{}]", holder.trim());
    fails_with(env, &["volume", "rm", "held"], &in_use);
    fails_with(env, &["volume", "rm", "-f", "held"], &in_use);
    ok(env, &["rm", "holder"]);
    ok(env, &["volume", "rm", "held", "shared"]);
}

fn an_image_volume_is_a_prefilled_anonymous_volume(ctx: &Ctx) {
    let env = &ctx.env[..];
    let out = ok(
        env,
        &[
            "run",
            "--name",
            "iv",
            IMAGE,
            "sh",
            "-c",
            "stat -c '%u:%g %a' /data/file; cat /data/file; readlink /data/link; cat /data/sub/y",
        ],
    );
    assert_eq!(out, "1000:1000 640\nhello\nfile\ny\n");
    let list = mounts(env, "iv");
    assert_eq!(list.len(), 1, "{list:?}");
    let name = list[0]["Name"].as_str().unwrap().to_owned();
    assert!(
        name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    assert_eq!(
        list[0],
        json!({
            "Type": "volume",
            "Name": name,
            "Source": ctx.mountpoint(&name),
            "Destination": "/data",
            "Driver": "local",
            "Mode": "",
            "RW": true,
            "Propagation": "",
        })
    );
    let volume = inspect_json(env, "volume", &name);
    assert_eq!(
        (&volume["Labels"], &volume["Options"]),
        (&Value::Null, &Value::Null)
    );
    let empty = ok(
        env,
        &[
            "run",
            "--rm",
            "--mount",
            "type=volume,src=nocopy,dst=/data,volume-nocopy",
            IMAGE,
            "ls",
            "-A",
            "/data",
        ],
    );
    assert_eq!(empty, "", "nocopy leaves the volume empty");
    let named = ok(
        env,
        &[
            "run",
            "--rm",
            "-v",
            "filled:/data",
            IMAGE,
            "cat",
            "/data/file",
        ],
    );
    assert_eq!(named, "hello\n", "a new named volume is filled too");
    ok(
        env,
        &[
            "create",
            "--name",
            "cf",
            "-v",
            "at-create:/data",
            IMAGE,
            "true",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(&ctx.mountpoint("at-create")).join("file")).unwrap(),
        "hello\n",
        "the copy happens at create, as dockerd's"
    );
    ok(env, &["rm", "cf"]);
    ok(env, &["volume", "rm", "nocopy", "filled", "at-create"]);
    ok(env, &["rm", "-v", "iv"]);
    assert!(!Path::new(&ctx.mountpoint(&name)).exists());
}

fn volumes_from_takes_over_the_mounts(ctx: &Ctx) {
    let env = &ctx.env[..];
    ok(
        env,
        &[
            "create",
            "--name",
            "vf-src",
            "-v",
            "vf-named:/n",
            "-v",
            "/anon",
            IMAGE,
            "true",
        ],
    );
    ok(
        env,
        &[
            "run",
            "--rm",
            "--volumes-from",
            "vf-src",
            IMAGE,
            "sh",
            "-c",
            "echo via > /n/f",
        ],
    );
    let stderr = fails(
        env,
        &[
            "run",
            "--rm",
            "--volumes-from",
            "vf-src:ro",
            IMAGE,
            "touch",
            "/anon/x",
        ],
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    ok(
        env,
        &[
            "create",
            "--name",
            "vf-ro",
            "--volumes-from",
            "vf-src:ro",
            IMAGE,
            "true",
        ],
    );
    let src = mounts(env, "vf-src");
    let ro = mounts(env, "vf-ro");
    assert_eq!(ro.len(), 3, "/anon, /data and /n: {ro:?}");
    for (s, r) in src.iter().zip(&ro) {
        assert_eq!(r["Name"], s["Name"]);
        assert_eq!(r["Destination"], s["Destination"]);
        assert_eq!((&r["RW"], &r["Mode"]), (&json!(false), &json!("")));
    }
    assert_eq!(
        ok(
            env,
            &[
                "run",
                "--rm",
                "--volumes-from",
                "vf-ro",
                IMAGE,
                "cat",
                "/n/f"
            ]
        ),
        "via\n"
    );
    ok(env, &["rm", "vf-ro"]);
    fails_with(
        env,
        &["create", "--volumes-from", "vf-nope", IMAGE, "true"],
        "No such container: vf-nope",
    );
    fails_with(
        env,
        &["create", "--volumes-from", "vf-src:xx", IMAGE, "true"],
        "invalid mode: xx",
    );
}

fn rm_v_removes_the_anonymous_volumes_only(ctx: &Ctx) {
    let env = &ctx.env[..];
    let anonymous: Vec<String> = mounts(env, "vf-src")
        .iter()
        .filter(|m| m["Name"] != "vf-named")
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(anonymous.len(), 2);
    ok(env, &["rm", "-v", "vf-src"]);
    let left = ok(env, &["volume", "ls", "-q"]);
    assert!(left.lines().any(|l| l == "vf-named"), "{left}");
    for name in &anonymous {
        assert!(!left.lines().any(|l| l == name), "{name} is left: {left}");
        assert!(!Path::new(&ctx.mountpoint(name)).exists());
    }
    let before = ok(env, &["volume", "ls", "-q"]).lines().count();
    ok(env, &["run", "--rm", IMAGE, "true"]);
    let after = ok(env, &["volume", "ls", "-q"]).lines().count();
    assert_eq!(
        before, after,
        "--rm takes the image volume's anonymous volume with it"
    );
    ok(env, &["volume", "rm", "vf-named"]);
}

fn a_tmpfs_volume_is_mounted_only_while_used(ctx: &Ctx) {
    let env = &ctx.env[..];
    ok(
        env,
        &[
            "volume",
            "create",
            "--opt",
            "type=tmpfs",
            "--opt",
            "device=tmpfs",
            "--opt",
            "o=size=1m",
            "tv",
        ],
    );
    assert_eq!(
        inspect_json(env, "volume", "tv")["Options"],
        json!({"device": "tmpfs", "o": "size=1m", "type": "tmpfs"})
    );
    assert!(
        host_volume_mounts(ctx).is_empty(),
        "{:?}",
        host_volume_mounts(ctx)
    );
    ok(
        env,
        &[
            "run", "-d", "--name", "tm", "-v", "tv:/t", IMAGE, "sleep", "60",
        ],
    );
    ok(env, &["exec", "tm", "sh", "-c", "echo x > /t/x"]);
    let inside = ok(env, &["exec", "tm", "grep", " /t ", "/proc/mounts"]);
    assert!(inside.starts_with("tmpfs /t tmpfs "), "{inside}");
    assert!(inside.contains("size=1024k"), "{inside}");
    let host = host_volume_mounts(ctx);
    assert!(
        host.len() == 1 && host[0].contains(&format!("{} ", ctx.mountpoint("tv"))),
        "{host:?}"
    );
    ok(env, &["stop", "-t", "1", "tm"]);
    eventually(Duration::from_secs(10), "the tmpfs unmounted", || {
        host_volume_mounts(ctx).is_empty()
    });
    // A new start mounts a new tmpfs: nothing written before is left.
    ok(env, &["start", "tm"]);
    assert_eq!(ok(env, &["exec", "tm", "ls", "-A", "/t"]), "");
    assert_eq!(host_volume_mounts(ctx).len(), 1);
    ok(env, &["rm", "-f", "tm"]);
    eventually(Duration::from_secs(10), "the tmpfs unmounted", || {
        host_volume_mounts(ctx).is_empty()
    });
    ok(env, &["volume", "rm", "tv"]);
}

/// The API version the CLI speaks with the daemon: the lower of the two, as `(major, minor)`.
fn negotiated_version(env: &Env) -> (u32, u32) {
    let parse = |v: &str| {
        let (a, b) = v.trim().split_once('.').unwrap();
        (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap())
    };
    let client = parse(&ok(env, &["version", "-f", "{{.Client.APIVersion}}"]));
    let server = parse(&ok(env, &["version", "-f", "{{.Server.APIVersion}}"]));
    client.min(server)
}

/// The names a `docker volume prune` printed.
fn pruned(out: &str) -> Vec<&str> {
    assert!(
        out.starts_with("Deleted Volumes:\n") || out.starts_with("Total reclaimed space:"),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space: "), "{out}");
    out.lines()
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("Total"))
        .collect()
}

fn prune_takes_unused_volumes_without_options(ctx: &Ctx) {
    let env = &ctx.env[..];
    ok(env, &["volume", "create", "p-named"]);
    ok(env, &["volume", "create", "--label", "keep=1", "p-keep"]);
    ok(
        env,
        &[
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "p-opts",
        ],
    );
    ok(
        env,
        &[
            "create",
            "--name",
            "p-user",
            "-v",
            "p-used:/u",
            IMAGE,
            "true",
        ],
    );
    ok(
        env,
        &["create", "--name", "p-anon", "-v", "/anon", IMAGE, "true"],
    );
    let anonymous: Vec<String> = mounts(env, "p-anon")
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect();
    ok(env, &["rm", "p-anon"]);
    if negotiated_version(env) >= (1, 42) {
        // From API 1.42 a prune takes anonymous volumes only, unless asked for all.
        let out = ok(env, &["volume", "prune", "-f"]);
        let deleted = pruned(&out);
        for name in &anonymous {
            assert!(deleted.contains(&name.as_str()), "{name} kept: {out}");
        }
        assert!(!deleted.contains(&"p-named"), "{out}");
    }
    // As dockerd 20.10 (API 1.41): named volumes go too, but not those with driver options.
    let mut old = ctx.env.clone();
    old.push(("DOCKER_API_VERSION".into(), "1.41".into()));
    let out = ok(&old, &["volume", "prune", "-f", "--filter", "label!=keep"]);
    let deleted = pruned(&out);
    assert!(deleted.contains(&"p-named"), "{out}");
    for kept in ["p-keep", "p-opts", "p-used"] {
        assert!(!deleted.contains(&kept), "{kept} pruned: {out}");
    }
    let mut left = lines(&ok(env, &["volume", "ls", "-q"]))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let users_own = mounts(env, "p-user")
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    left.retain(|n| !users_own.contains(n));
    assert_eq!(
        left,
        ["p-keep", "p-opts"],
        "p-user's volumes stay, and only they"
    );
    for name in &anonymous {
        assert!(!Path::new(&ctx.mountpoint(name)).exists());
    }
    ok(env, &["rm", "-v", "p-user"]);
    ok(env, &["volume", "rm", "p-keep", "p-opts", "p-used"]);
}

fn events_and_system_df(ctx: &Ctx) {
    let env = &ctx.env[..];
    ok(env, &["volume", "create", "dfv"]);
    ok(
        env,
        &[
            "run",
            "--rm",
            "-v",
            "dfv:/d",
            IMAGE,
            "sh",
            "-c",
            "echo 12345 > /d/f",
        ],
    );
    let df = ok(env, &["system", "df", "-v"]);
    let section = df.split("Local Volumes space usage:").nth(1).unwrap_or("");
    let row = section
        .lines()
        .find(|l| l.starts_with("dfv "))
        .unwrap_or_else(|| panic!("no dfv in:\n{df}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["dfv", "0", "6B"]
    );
    ok(env, &["volume", "rm", "dfv"]);
    let out = ok(
        env,
        &[
            "events",
            "--since",
            &ctx.since,
            "--until",
            &now(),
            "--filter",
            "type=volume",
            "--filter",
            "volume=tv",
            "--format",
            "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}",
        ],
    );
    let actions: Vec<&str> = out.lines().collect();
    for want in [
        "create tv local",
        "mount tv local",
        "unmount tv local",
        "destroy tv local",
    ] {
        assert!(actions.contains(&want), "no {want:?} in {actions:?}");
    }
    let mount = ok(
        env,
        &[
            "events",
            "--since",
            &ctx.since,
            "--until",
            &now(),
            "--filter",
            "type=volume",
            "--filter",
            "event=mount",
            "--filter",
            "volume=tv",
            "--format",
            "{{json .Actor.Attributes}}",
        ],
    );
    assert_eq!(mount.lines().count(), 2, "one mount per start: {mount}");
    let attributes: Value = serde_json::from_str(mount.lines().next().unwrap()).unwrap();
    let container = attributes["container"].as_str().unwrap_or("").to_owned();
    assert_eq!(container.len(), 64, "{attributes}");
    assert_eq!(
        attributes,
        json!({"container": container, "destination": "/t", "driver": "local",
               "propagation": "", "read/write": "true"})
    );
}

fn nothing_is_left_mounted(ctx: &Ctx) {
    assert!(
        host_volume_mounts(ctx).is_empty(),
        "{:?}",
        host_volume_mounts(ctx)
    );
}

/// The checks, in order.
pub const CHECKS: &[Check<Ctx>] = checks![
    create_ls_inspect_rm_with_labels_and_filters,
    a_file_survives_rm_and_is_seen_by_a_second_container,
    two_running_containers_share_a_volume_and_it_is_in_use,
    an_image_volume_is_a_prefilled_anonymous_volume,
    volumes_from_takes_over_the_mounts,
    rm_v_removes_the_anonymous_volumes_only,
    a_tmpfs_volume_is_mounted_only_while_used,
    prune_takes_unused_volumes_without_options,
    events_and_system_df,
    nothing_is_left_mounted,
];
