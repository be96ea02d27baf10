//! Merges the image's config into the container's at create time, as moby's `runconfig.Merge` does, so that
//! the record (and `docker inspect`) holds the effective config.

use wharf_client_core::models::{ContainerConfig, ImageConfig};

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Fills the container's config from the image's where the container left a field unset.
///
/// `Cmd` comes from the image only when the container set neither `Entrypoint` nor `Cmd`; `Entrypoint`
/// only when the container did not send one (an explicit empty `Entrypoint` clears the image's).
pub(crate) fn merge_image_config(config: &mut ContainerConfig, image: &ImageConfig) {
    if config.user.as_deref().unwrap_or("").is_empty() {
        config.user = image.user.clone();
    }
    match (&mut config.env, &image.env) {
        (Some(env), Some(image_env)) if !env.is_empty() => {
            for entry in image_env {
                if !env.iter().any(|e| env_key(e) == env_key(entry)) {
                    env.push(entry.clone());
                }
            }
        }
        // The container's own, when the image has none.
        (Some(env), None) if !env.is_empty() => {}
        (env, image_env) => *env = image_env.clone(),
    }
    if config.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            config.cmd = image.cmd.clone();
            config.args_escaped = image.args_escaped;
        }
        if config.entrypoint.is_none() {
            config.entrypoint = image.entrypoint.clone();
        }
    }
    if config.working_dir.as_deref().unwrap_or("").is_empty() {
        config.working_dir = image.working_dir.clone();
    }
    if config.stop_signal.as_deref().unwrap_or("").is_empty() {
        config.stop_signal = image.stop_signal.clone();
    }
    super::health::merge(&mut config.healthcheck, image.healthcheck.as_ref());
    if config.shell.as_ref().is_none_or(|s| s.is_empty()) {
        config.shell = image.shell.clone();
    }
    if config.on_build.as_ref().is_none_or(|s| s.is_empty()) {
        config.on_build = image.on_build.clone();
    }
    for (mine, theirs) in [
        (&mut config.exposed_ports, &image.exposed_ports),
        (&mut config.volumes, &image.volumes),
    ] {
        if let Some(theirs) = theirs {
            let mine = mine.get_or_insert_with(Default::default);
            for (k, v) in theirs {
                mine.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if let Some(labels) = &image.labels {
        let mine = config.labels.get_or_insert_with(Default::default);
        for (k, v) in labels {
            mine.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Option<Vec<String>> {
        Some(s.iter().map(|x| x.to_string()).collect())
    }

    fn image() -> ImageConfig {
        ImageConfig {
            env: v(&["PATH=/img", "LANG=C"]),
            cmd: v(&["nginx", "-g", "daemon off;"]),
            entrypoint: v(&["/entry.sh"]),
            working_dir: Some("/srv".into()),
            user: Some("www".into()),
            stop_signal: Some("SIGQUIT".into()),
            labels: Some([("a".to_string(), "img".to_string())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn empty_container_config_takes_the_images() {
        let mut c = ContainerConfig::default();
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, v(&["nginx", "-g", "daemon off;"]));
        assert_eq!(c.entrypoint, v(&["/entry.sh"]));
        assert_eq!(c.env, v(&["PATH=/img", "LANG=C"]));
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        assert_eq!(c.user.as_deref(), Some("www"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
    }

    #[test]
    fn container_values_win_and_env_merges_by_key() {
        let mut c = ContainerConfig {
            env: v(&["LANG=fr", "X=1"]),
            cmd: v(&["sh"]),
            labels: Some([("a".to_string(), "mine".to_string())].into()),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.env, v(&["LANG=fr", "X=1", "PATH=/img"]));
        assert_eq!(c.cmd, v(&["sh"]));
        assert_eq!(c.entrypoint, v(&["/entry.sh"]));
        assert_eq!(c.labels.unwrap()["a"], "mine");
    }

    #[test]
    fn container_env_survives_an_image_without_env() {
        let mut c = ContainerConfig {
            env: v(&["A=b"]),
            ..Default::default()
        };
        let image = ImageConfig {
            env: None,
            ..image()
        };
        merge_image_config(&mut c, &image);
        assert_eq!(c.env, v(&["A=b"]));
    }

    #[test]
    fn container_entrypoint_drops_the_images_cmd() {
        let mut c = ContainerConfig {
            entrypoint: v(&["/bin/echo"]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.entrypoint, v(&["/bin/echo"]));
        assert_eq!(c.cmd, None);
        let mut c = ContainerConfig {
            entrypoint: v(&[]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.entrypoint, v(&[]));
        assert_eq!(c.cmd, v(&["nginx", "-g", "daemon off;"]));
    }
}
