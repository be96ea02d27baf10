//! Container networking end to end with the docker CLI: the default bridge network (a published port
//! answering from the host's loopback and its other addresses, a container reaching a server on the host,
//! `--network none|container:`), and that nothing a container had on the host (veths, iptables rules,
//! namespace files, address leases) outlives it: after `rm -f`, and after a `kill -9` of wharfd with and
//! without `--live-restore`.
//!
//! Each wharfd of the fixture has its own bridge and subnet (`tests/src/wharfd.rs`), so these run in
//! parallel with every other test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use wharf_tests::cli::{fails, ok};
use wharf_tests::{eventually, prereq, RunCommand, Wharfd};

const IMAGE: &str = "net:1";

type Env = Vec<(String, String)>;

fn can_run(test: &str) -> bool {
    let missing = prereq::missing_runtime()
        .or_else(wharf_tests::rootfs::missing_busybox)
        .or_else(|| {
            (!Path::new("/usr/lib/cni/bridge").exists()).then(|| {
                "the CNI plugins are missing (apt-get install containernetworking-plugins)".into()
            })
        })
        .or_else(|| (!prereq::on_path("iptables-save")).then(|| "iptables is missing".into()));
    prereq::can_run(test, missing)
}

fn start(args: &[&str]) -> (Wharfd, Env) {
    let wharfd = Wharfd::builder()
        .args(args.iter().copied())
        .start()
        .unwrap();
    let env = wharfd.endpoints().docker_env_unix();
    let tar = wharf_tests::rootfs::busybox_tar(wharfd.dir()).unwrap();
    ok(&env, &["import", tar.to_str().unwrap(), IMAGE]);
    (wharfd, env)
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = RunCommand::new(cmd).args(args).run().unwrap();
    assert!(out.success(), "{cmd} {args:?}: {}", out.stderr);
    out.stdout
}

/// A TCP port nobody uses on any address right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The host's first global IPv4 address (eth0's here), to reach published ports from off loopback.
fn host_address() -> Ipv4Addr {
    let out = sh("ip", &["-4", "-o", "addr", "show", "scope", "global"]);
    out.lines()
        .filter(|l| !l.contains(" wt") && !l.contains(" wharf"))
        .find_map(|l| {
            let cidr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
            cidr.split('/').next()?.parse().ok()
        })
        .expect("no global IPv4 address on the host")
}

/// The body of `GET /` at `addr:port`, or `None` if nothing answers.
fn http_get(addr: Ipv4Addr, port: u16) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&(addr, port).into(), Duration::from_secs(3)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text.split("\r\n\r\n").nth(1)?.to_owned())
}

/// `docker run -d` of busybox's httpd serving `body` on port 80.
fn run_httpd(env: &Env, extra: &[&str], body: &str) -> String {
    let script = format!("echo {body} > /tmp/index.html; exec httpd -f -p 80 -h /tmp");
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(extra);
    args.extend([IMAGE, "sh", "-c", &script]);
    ok(env, &args).trim().to_owned()
}

fn inspect(env: &Env, id: &str, format: &str) -> String {
    ok(env, &["inspect", "-f", format, id]).trim().to_owned()
}

/// What a container of this wharfd may have left on the host.
#[derive(Debug, PartialEq, Eq)]
struct Leftovers {
    /// Interfaces enslaved to the bridge (the host ends of veths).
    veths: Vec<String>,
    /// iptables lines naming one of the containers.
    rules: Vec<String>,
    /// Files in `<exec-root>/netns`.
    netns: Vec<String>,
    /// host-local's leases (files named by address).
    leases: Vec<String>,
}

fn leftovers(wharfd: &Wharfd, bridge: &str, ids: &[&str]) -> Leftovers {
    let links = sh("ip", &["-o", "link", "show", "master", bridge]);
    let rules = sh("iptables-save", &[]);
    let files = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let ipam = wharfd.dir().join("data/network/ipam/bridge");
    Leftovers {
        veths: links
            .lines()
            .filter_map(|l| Some(l.split(": ").nth(1)?.to_owned()))
            .collect(),
        rules: rules
            .lines()
            .filter(|l| ids.iter().any(|id| l.contains(id)))
            .map(str::to_owned)
            .collect(),
        netns: files(&wharfd.dir().join("exec/netns")),
        leases: files(&ipam)
            .into_iter()
            .filter(|f| f.parse::<Ipv4Addr>().is_ok())
            .collect(),
    }
}

fn nothing() -> Leftovers {
    Leftovers {
        veths: vec![],
        rules: vec![],
        netns: vec![],
        leases: vec![],
    }
}

/// The name of the bridge whose address is `gateway`.
fn bridge_with(gateway: &str) -> String {
    let out = sh("ip", &["-4", "-o", "addr", "show"]);
    out.lines()
        .find(|l| l.contains(&format!("inet {gateway}/")))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no bridge has {gateway}:\n{out}"))
}

#[test]
fn a_published_port_answers_from_the_host_and_rm_leaves_nothing() {
    if !can_run("a_published_port_answers_from_the_host_and_rm_leaves_nothing") {
        return;
    }
    let (wharfd, env) = start(&[]);
    let port = free_port();
    let id = run_httpd(&env, &["-p", &format!("{port}:80")], "hello-wharf");
    let body = || http_get(Ipv4Addr::LOCALHOST, port);
    eventually(Duration::from_secs(10), "httpd to answer", || {
        body().is_some()
    });
    assert_eq!(body().unwrap().trim(), "hello-wharf");
    assert_eq!(
        http_get(host_address(), port).unwrap().trim(),
        "hello-wharf",
        "from the host's own address"
    );

    // What clients read of it, as dockerd shows it.
    assert_eq!(
        ok(&env, &["port", &id]).trim(),
        format!("80/tcp -> 0.0.0.0:{port}")
    );
    assert_eq!(
        ok(&env, &["ps", "--format", "{{.Ports}}"]).trim(),
        format!("0.0.0.0:{port}->80/tcp")
    );
    let ip = inspect(&env, &id, "{{.NetworkSettings.IPAddress}}");
    let gateway = inspect(&env, &id, "{{.NetworkSettings.Gateway}}");
    assert!(ip.parse::<Ipv4Addr>().is_ok(), "{ip}");
    assert_eq!(
        inspect(&env, &id, "{{.NetworkSettings.Networks.bridge.IPAddress}}"),
        ip
    );
    assert_eq!(
        inspect(&env, &id, "{{json .NetworkSettings.Ports}}"),
        format!(r#"{{"80/tcp":[{{"HostIp":"0.0.0.0","HostPort":"{port}"}}]}}"#)
    );
    let mac = inspect(&env, &id, "{{.NetworkSettings.MacAddress}}");
    assert_eq!(mac.len(), 17, "{mac}");
    // The container's own name resolves to its address, and its resolv.conf has no loopback server.
    let hosts = ok(&env, &["exec", &id, "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t")), "{hosts}");
    let resolv = ok(&env, &["exec", &id, "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("nameserver 127."), "{resolv}");

    // The port is the container's: another one cannot have it.
    let taken = fails(
        &env,
        &[
            "run",
            "-d",
            "-p",
            &format!("{port}:80"),
            IMAGE,
            "sleep",
            "9",
        ],
    );
    assert!(
        taken.contains(&format!(
            "Bind for 0.0.0.0:{port} failed: port is already allocated"
        )),
        "{taken}"
    );

    let bridge = bridge_with(&gateway);
    let during = leftovers(&wharfd, &bridge, &[&id]);
    assert_eq!(during.netns.len(), 1, "{during:?}");
    assert!(!during.rules.is_empty() && !during.veths.is_empty());
    assert!(during.leases.contains(&ip), "{during:?}");

    let all = ok(&env, &["ps", "-aq", "--no-trunc"]);
    let ids: Vec<&str> = all.lines().collect();
    ok(&env, &["rm", "-f", &id]);
    for other in &ids {
        let _ = wharf_tests::docker(&env, &["rm", "-f", other]);
    }
    assert_eq!(leftovers(&wharfd, &bridge, &ids), nothing());
    assert!(http_get(Ipv4Addr::LOCALHOST, port).is_none());
}

#[test]
fn random_ports_publish_exposed_ports_and_ranges_take_a_free_port() {
    if !can_run("random_ports_publish_exposed_ports_and_ranges_take_a_free_port") {
        return;
    }
    let (_wharfd, env) = start(&[]);
    let id = run_httpd(&env, &["--expose", "80", "-P"], "published-all");
    let port: u16 = inspect(
        &env,
        &id,
        r#"{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}"#,
    )
    .parse()
    .unwrap();
    eventually(Duration::from_secs(10), "httpd to answer", || {
        http_get(Ipv4Addr::LOCALHOST, port).is_some()
    });
    assert_eq!(
        http_get(Ipv4Addr::LOCALHOST, port).unwrap().trim(),
        "published-all"
    );
    // A range whose first port is taken gets the next one.
    let first = free_port();
    let _holder = TcpListener::bind((Ipv4Addr::UNSPECIFIED, first)).unwrap();
    let ranged = run_httpd(
        &env,
        &["-p", &format!("{first}-{}:80", first.saturating_add(5))],
        "ranged",
    );
    let got: u16 = inspect(
        &env,
        &ranged,
        r#"{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}"#,
    )
    .parse()
    .unwrap();
    assert!(got > first && got <= first + 5, "{got} after {first}");
    ok(&env, &["rm", "-f", &id, &ranged]);
}

#[test]
fn a_container_reaches_the_host_and_none_has_only_loopback() {
    if !can_run("a_container_reaches_the_host_and_none_has_only_loopback") {
        return;
    }
    let (_wharfd, env) = start(&[]);
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = String::new();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.read_to_string(&mut got);
        got
    });
    // Through the host's own address, outside the container's namespace (the default route: NAT).
    let host = host_address();
    ok(
        &env,
        &[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            &format!("echo from-the-container | nc -w 5 {host} {port}"),
        ],
    );
    assert_eq!(server.join().unwrap().trim(), "from-the-container");

    let routes = ok(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "busybox",
            "ip",
            "route",
        ],
    );
    assert_eq!(routes.trim(), "", "--network none has no route");
    let links = ok(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            IMAGE,
            "busybox",
            "ip",
            "-o",
            "link",
        ],
    );
    let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(names, ["lo"], "{links}");

    // container:<name> shares the other's namespace: its loopback reaches the other's server.
    let web = run_httpd(&env, &["--name", "web"], "shared");
    eventually(Duration::from_secs(10), "httpd in web", || {
        wharf_tests::docker(
            &env,
            &[
                "run",
                "--rm",
                "--network",
                "container:web",
                IMAGE,
                "busybox",
                "wget",
                "-qO-",
                "http://127.0.0.1/",
            ],
        )
        .is_ok_and(|out| out.stdout.trim() == "shared")
    });
    ok(&env, &["rm", "-f", &web]);
}

/// A `kill -9` of wharfd with a published port: after the restart without `--live-restore` the
/// container is stopped and everything it had released; with it, the port still answers until `rm`.
fn crash(test: &str, live_restore: bool) {
    if !can_run(test) {
        return;
    }
    let args: &[&str] = if live_restore {
        &["--live-restore"]
    } else {
        &[]
    };
    let (mut wharfd, env) = start(args);
    let port = free_port();
    let id = run_httpd(&env, &["-p", &format!("{port}:80")], "survives");
    eventually(Duration::from_secs(10), "httpd to answer", || {
        http_get(Ipv4Addr::LOCALHOST, port).is_some()
    });
    let gateway = inspect(&env, &id, "{{.NetworkSettings.Gateway}}");
    let bridge = bridge_with(&gateway);
    wharfd.kill_and_restart().unwrap();
    if live_restore {
        assert_eq!(inspect(&env, &id, "{{.State.Running}}"), "true");
        assert_eq!(
            http_get(Ipv4Addr::LOCALHOST, port).unwrap().trim(),
            "survives"
        );
        let kept = leftovers(&wharfd, &bridge, &[&id]);
        assert_eq!(kept.netns, std::slice::from_ref(&id));
        // The port is still held for it.
        let taken = fails(
            &env,
            &[
                "run",
                "-d",
                "-p",
                &format!("{port}:80"),
                IMAGE,
                "sleep",
                "9",
            ],
        );
        assert!(taken.contains("port is already allocated"), "{taken}");
        let all = ok(&env, &["ps", "-aq", "--no-trunc"]);
        for other in all.lines() {
            ok(&env, &["rm", "-f", other]);
        }
    } else {
        eventually(
            Duration::from_secs(20),
            "the container to be stopped",
            || inspect(&env, &id, "{{.State.Running}}") == "false",
        );
        assert!(http_get(Ipv4Addr::LOCALHOST, port).is_none());
        assert_eq!(leftovers(&wharfd, &bridge, &[&id]), nothing());
        ok(&env, &["rm", "-f", &id]);
    }
    assert_eq!(leftovers(&wharfd, &bridge, &[&id]), nothing());
}

#[test]
fn a_kill_9_without_live_restore_releases_the_network() {
    crash("a_kill_9_without_live_restore_releases_the_network", false);
}

#[test]
fn a_kill_9_with_live_restore_keeps_the_ports_answering() {
    crash("a_kill_9_with_live_restore_keeps_the_ports_answering", true);
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    if !can_run("containers_on_a_user_network_reach_each_other_by_name_and_alias") {
        return;
    }
    let (wharfd, env) = start(&[]);
    let t0 = ok_now() - 1;
    let net = ok(
        &env,
        &["network", "create", "--label", "team=web", "appnet"],
    )
    .trim()
    .to_owned();
    assert_eq!(net.len(), 64, "{net}");
    let ls = ok(
        &env,
        &["network", "ls", "--format", "{{.Name}} {{.Driver}}"],
    );
    let mut names: Vec<&str> = ls.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["appnet bridge", "bridge bridge", "host host", "none null"]
    );
    let dup = fails(&env, &["network", "create", "appnet"]);
    assert!(
        dup.contains("network with name appnet already exists"),
        "{dup}"
    );

    let server = run_httpd(
        &env,
        &[
            "--name",
            "server",
            "--network",
            "appnet",
            "--network-alias",
            "web",
        ],
        "by-name",
    );
    let client = ok(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "client",
            "--network",
            "appnet",
            IMAGE,
            "sleep",
            "600",
        ],
    )
    .trim()
    .to_owned();
    let fetch = |host: &str| {
        wharf_tests::docker(
            &env,
            &[
                "exec",
                "client",
                "busybox",
                "wget",
                "-qO-",
                &format!("http://{host}/"),
            ],
        )
        .map(|o| o.stdout.trim().to_owned())
        .unwrap_or_default()
    };
    eventually(Duration::from_secs(10), "the server by name", || {
        fetch("server") == "by-name"
    });
    assert_eq!(fetch("web"), "by-name", "by its alias");
    // ... and the server sees the client, which started after it.
    let ping = ok(
        &env,
        &[
            "exec", "server", "busybox", "ping", "-c", "1", "-W", "3", "client",
        ],
    );
    assert!(ping.contains("1 packets received"), "{ping}");

    let members = inspect(
        &env,
        "appnet",
        "{{range $id, $c := .Containers}}{{$c.Name}} {{end}}",
    );
    let mut members: Vec<&str> = members.split_whitespace().collect();
    members.sort_unstable();
    assert_eq!(members, ["client", "server"]);
    let busy = fails(&env, &["network", "rm", "appnet"]);
    assert!(
        busy.contains(&format!(
            "error while removing network: network appnet id {net} has active endpoints"
        )),
        "{busy}"
    );

    let bridge = format!("br-{}", &net[..12]);
    ok(&env, &["rm", "-f", &server, &client]);
    assert_eq!(
        leftovers_on(&wharfd, &bridge, &[&server, &client], &net),
        nothing()
    );
    ok(&env, &["network", "rm", "appnet"]);
    let links = sh("ip", &["-o", "link"]);
    assert!(!links.contains(&bridge), "{links}");

    let events = ok(
        &env,
        &[
            "events",
            "--since",
            &t0.to_string(),
            "--until",
            &(ok_now() + 1).to_string(),
            "--filter",
            "type=network",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}}",
        ],
    );
    let actions: Vec<&str> = events.lines().collect();
    assert_eq!(actions.first(), Some(&"create appnet"), "{events}");
    assert_eq!(actions.last(), Some(&"destroy appnet"), "{events}");
    assert_eq!(
        actions.iter().filter(|a| **a == "connect appnet").count(),
        2,
        "{events}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "disconnect appnet")
            .count(),
        2,
        "{events}"
    );
}

/// Seconds since the epoch, now.
fn ok_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// [`leftovers`] for a user network, whose leases are kept under its ID.
fn leftovers_on(wharfd: &Wharfd, bridge: &str, ids: &[&str], net: &str) -> Leftovers {
    let mut l = leftovers(wharfd, bridge, ids);
    let ipam = wharfd.dir().join("data/network/ipam").join(net);
    l.leases = std::fs::read_dir(ipam)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.parse::<Ipv4Addr>().is_ok())
        .collect();
    l
}

#[test]
fn network_settings_subnets_fixed_addresses_and_internal_networks() {
    if !can_run("network_settings_subnets_fixed_addresses_and_internal_networks") {
        return;
    }
    let (_wharfd, env) = start(&[]);
    let subnet = "10.200.7.0/24";
    ok(
        &env,
        &[
            "network",
            "create",
            "--subnet",
            subnet,
            "--gateway",
            "10.200.7.254",
            "--ip-range",
            "10.200.7.128/25",
            "--internal",
            "--label",
            "k=v",
            "fixed",
        ],
    );
    assert_eq!(
        inspect(
            &env,
            "fixed",
            "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{.Internal}} {{.Labels.k}}"
        ),
        "10.200.7.0/24 10.200.7.254 10.200.7.128/25 true v"
    );
    let addr = ok(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "fixed",
            "--ip",
            "10.200.7.200",
            IMAGE,
            "busybox",
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "eth0",
        ],
    );
    assert!(addr.contains("inet 10.200.7.200/24"), "{addr}");
    let ranged = ok(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "fixed",
            IMAGE,
            "busybox",
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "eth0",
        ],
    );
    let ip: Ipv4Addr = ranged
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|c| c.split('/').next()?.parse().ok())
        .unwrap();
    assert!(ip.octets()[3] >= 128, "{ip} outside the ip-range");
    // An internal network has no way out.
    let routes = ok(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "fixed",
            IMAGE,
            "busybox",
            "ip",
            "route",
        ],
    );
    assert!(!routes.contains("default"), "{routes}");
    let missing = fails(
        &env,
        &["run", "--rm", "--network", "nowhere", IMAGE, "true"],
    );
    assert!(missing.contains("network nowhere not found"), "{missing}");
    let alias = fails(&env, &["create", "--ip", "10.1.1.1", IMAGE, "true"]);
    assert!(
        alias.contains("user specified IP address is supported on user defined networks only"),
        "{alias}"
    );
    let prune = ok(&env, &["network", "prune", "-f"]);
    assert!(prune.contains("fixed"), "{prune}");
    let all = ok(&env, &["ps", "-aq"]);
    for id in all.lines() {
        ok(&env, &["rm", "-f", id]);
    }
}

#[test]
fn a_running_container_connects_to_and_disconnects_from_a_user_network() {
    if !can_run("a_running_container_connects_to_and_disconnects_from_a_user_network") {
        return;
    }
    let (wharfd, env) = start(&[]);
    let net = ok(&env, &["network", "create", "late"]).trim().to_owned();
    let server = run_httpd(&env, &["--name", "server", "--network", "late"], "joined");
    let client = ok(
        &env,
        &["run", "-d", "--name", "client", IMAGE, "sleep", "600"],
    )
    .trim()
    .to_owned();
    let server_ip = inspect(
        &env,
        "server",
        "{{.NetworkSettings.Networks.late.IPAddress}}",
    );
    // (busybox's wget crashes with -T: its own timeout applet bounds it.)
    let fetch = || {
        wharf_tests::docker(
            &env,
            &[
                "exec",
                "client",
                "busybox",
                "timeout",
                "5",
                "busybox",
                "wget",
                "-qO-",
                &format!("http://{server_ip}/"),
            ],
        )
        .map(|o| o.stdout.trim().to_owned())
        .unwrap_or_default()
    };
    let ping = |from: &str, to: &str| {
        wharf_tests::docker(
            &env,
            &["exec", from, "busybox", "ping", "-c", "1", "-W", "3", to],
        )
        .is_ok_and(|o| o.stdout.contains("1 packets received"))
    };
    // Not on the network yet: the name is unknown, and networks are isolated from each other (the
    // address is not reachable through the host either), as dockerd's DOCKER-ISOLATION rules do.
    assert!(!ping("client", "server"));
    assert_eq!(fetch(), "", "reached across networks");
    ok(
        &env,
        &["network", "connect", "--alias", "cli", "late", "client"],
    );
    eventually(
        Duration::from_secs(10),
        "the server over the network",
        || fetch() == "joined",
    );
    assert!(ping("client", "server"), "the server by name");
    assert!(ping("server", "cli"), "the client by its alias");
    let networks = inspect(
        &env,
        "client",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert_eq!(networks, "bridge late");
    let again = fails(&env, &["network", "connect", "late", "client"]);
    assert!(
        again.contains("endpoint with name client already exists in network late"),
        "{again}"
    );

    ok(&env, &["network", "disconnect", "late", "client"]);
    let links = ok(&env, &["exec", "client", "busybox", "ip", "-o", "link"]);
    assert!(!links.contains("eth1"), "{links}");
    assert!(!ping("client", "server"), "the name is gone");
    assert_eq!(fetch(), "", "reached after the disconnect");
    let bridge = format!("br-{}", &net[..12]);
    let only_server = leftovers_on(&wharfd, &bridge, &[&client], &net);
    assert_eq!(only_server.veths.len(), 1, "{only_server:?}");
    // The client is still on the default bridge: only its rules on this network must be gone.
    assert!(
        !only_server.rules.iter().any(|r| r.contains(&net)),
        "{only_server:?}"
    );
    assert_eq!(only_server.leases.len(), 1, "{only_server:?}");
    ok(&env, &["rm", "-f", &server, &client]);
    assert_eq!(
        leftovers_on(&wharfd, &bridge, &[&server, &client], &net),
        nothing()
    );
    ok(&env, &["network", "rm", "late"]);
    let rules = sh("iptables-save", &[]);
    assert!(
        !rules.contains(&bridge),
        "isolation rules of {bridge} are left:\n{rules}"
    );
}

#[test]
fn legacy_links_give_hosts_entries_and_dockerds_environment() {
    if !can_run("legacy_links_give_hosts_entries_and_dockerds_environment") {
        return;
    }
    let (_wharfd, env) = start(&[]);
    let db = run_httpd(
        &env,
        &["--name", "db", "--expose", "5432", "-e", "SECRET=s3"],
        "linked",
    );
    let ip = inspect(&env, &db, "{{.NetworkSettings.IPAddress}}");
    let out = ok(
        &env,
        &[
            "run",
            "--rm",
            "--name",
            "web",
            "--link",
            "db:my-db",
            IMAGE,
            "sh",
            "-c",
            "env | grep ^MY_DB_ | sort; grep my-db /etc/hosts",
        ],
    );
    let short = &db[..12];
    let want = format!(
        "MY_DB_ENV_SECRET=s3\nMY_DB_NAME=/web/my-db\nMY_DB_PORT=tcp://{ip}:5432\n\
         MY_DB_PORT_5432_TCP=tcp://{ip}:5432\nMY_DB_PORT_5432_TCP_ADDR={ip}\n\
         MY_DB_PORT_5432_TCP_PORT=5432\nMY_DB_PORT_5432_TCP_PROTO=tcp\n{ip}\tmy-db {short} db\n"
    );
    assert_eq!(out, want);
    let refused = fails(&env, &["create", "--link", "nope:x", IMAGE, "true"]);
    assert!(
        refused.contains("could not get container for nope"),
        "{refused}"
    );
    ok(&env, &["rm", "-f", &db]);
}
