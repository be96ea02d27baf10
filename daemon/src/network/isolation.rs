//! Isolation between networks, as dockerd's `DOCKER-ISOLATION-STAGE-1/2` chains give it: traffic that
//! enters from one of wharfd's bridges and leaves through another is dropped, so containers on different
//! networks reach each other only through published ports. Two chains in the filter table,
//! `WHARF-ISOLATION-1` (jumped to first from `FORWARD`: `-i <bridge> ! -o <bridge>` goes on to stage 2)
//! and `WHARF-ISOLATION-2` (`-o <bridge>` is dropped), hold one rule each per bridge, added when the
//! network is set up (again after a restart: each rule is checked before it is added) and removed with
//! the network. Several wharfd on a host share the chains; each adds and removes its own bridges' rules.

use std::time::Duration;

const STAGE1: &str = "WHARF-ISOLATION-1";
const STAGE2: &str = "WHARF-ISOLATION-2";

async fn iptables(args: &[&str]) -> bool {
    let run = tokio::process::Command::new("iptables")
        .arg("-w")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    matches!(tokio::time::timeout(Duration::from_secs(10), run).await, Ok(Ok(s)) if s.success())
}

/// Adds `rule` to `chain` unless it is there.
async fn ensure(chain: &str, rule: &[&str]) {
    let mut check = vec!["-C", chain];
    check.extend_from_slice(rule);
    if !iptables(&check).await {
        let mut add = vec!["-A", chain];
        add.extend_from_slice(rule);
        if !iptables(&add).await {
            tracing::warn!("cannot add the isolation rule {chain} {rule:?}");
        }
    }
}

/// The chains and the jump from `FORWARD` (first, before the plugins' accepting rules).
async fn chains() {
    for chain in [STAGE1, STAGE2] {
        // Fails harmlessly when the chain exists.
        iptables(&["-N", chain]).await;
    }
    if !iptables(&["-C", "FORWARD", "-j", STAGE1]).await {
        iptables(&["-I", "FORWARD", "1", "-j", STAGE1]).await;
    }
}

/// Isolates `bridge` from wharfd's other bridges.
pub(crate) async fn add(bridge: &str) {
    chains().await;
    ensure(STAGE1, &["-i", bridge, "!", "-o", bridge, "-j", STAGE2]).await;
    ensure(STAGE2, &["-o", bridge, "-j", "DROP"]).await;
}

/// Removes `bridge`'s rules (the shared chains stay).
pub(crate) async fn remove(bridge: &str) {
    iptables(&["-D", STAGE1, "-i", bridge, "!", "-o", bridge, "-j", STAGE2]).await;
    iptables(&["-D", STAGE2, "-o", bridge, "-j", "DROP"]).await;
}
