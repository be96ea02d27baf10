//! The create body's fields that the models type as enums (`HostConfig.CgroupnsMode`, `Isolation`,
//! `RestartPolicy.Name`, `Mounts[].Type`, `Mounts[].BindOptions.Propagation`): serde refuses an unknown
//! value in its own words ("unknown variant `bogus`, expected one of ..."), while dockerd takes any string
//! there and refuses it later in its words. When decoding a create body fails, this finds such a value and
//! words the refusal as dockerd does; a body that decodes never comes here.

use serde::de::DeserializeOwned;
use serde_json::Value;
use wharf_client_core::models::{
    HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, MountBindOptionsPropagationEnum,
    MountTypeEnum, RestartPolicyNameEnum,
};

/// `value` when it is a string that `T` does not take.
fn unknown<T: DeserializeOwned>(value: Option<&Value>) -> Option<&str> {
    let s = value?.as_str()?;
    serde_json::from_value::<T>(Value::String(s.to_owned()))
        .is_err()
        .then_some(s)
}

/// dockerd's refusal of the first unknown enum value in the create body `body`, if it has one.
pub(crate) fn bad_enum_value(body: &[u8]) -> Option<String> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let hc = body.get("HostConfig")?;
    if let Some(mode) = unknown::<HostConfigCgroupnsModeEnum>(hc.get("CgroupnsMode")) {
        return Some(format!("invalid cgroup namespace mode: {mode}"));
    }
    if let Some(isolation) = unknown::<HostConfigIsolationEnum>(hc.get("Isolation")) {
        return Some(format!(
            "Invalid isolation: \"{isolation}\" - linux only supports 'default'"
        ));
    }
    let restart = hc.get("RestartPolicy").and_then(|r| r.get("Name"));
    if let Some(name) = unknown::<RestartPolicyNameEnum>(restart) {
        return Some(format!("invalid restart policy '{name}'"));
    }
    for mount in hc.get("Mounts")?.as_array()? {
        if let Some(typ) = unknown::<MountTypeEnum>(mount.get("Type")) {
            return Some(format!(
                "invalid mount config for type {typ:?}: mount type unknown"
            ));
        }
        let propagation = mount.get("BindOptions").and_then(|b| b.get("Propagation"));
        if let Some(mode) = unknown::<MountBindOptionsPropagationEnum>(propagation) {
            let typ = mount.get("Type").and_then(Value::as_str).unwrap_or("");
            return Some(format!(
                "invalid mount config for type {typ:?}: invalid propagation mode: {mode}"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(host_config: &str) -> Option<String> {
        bad_enum_value(format!(r#"{{"Image":"x","HostConfig":{host_config}}}"#).as_bytes())
    }

    #[test]
    fn unknown_enum_values_are_worded_as_dockerd_words_them() {
        assert_eq!(
            refusal(r#"{"CgroupnsMode":"bogus"}"#).unwrap(),
            "invalid cgroup namespace mode: bogus"
        );
        assert_eq!(
            refusal(r#"{"RestartPolicy":{"Name":"bogus"}}"#).unwrap(),
            "invalid restart policy 'bogus'"
        );
        assert_eq!(
            refusal(r#"{"Mounts":[{"Type":"bind"},{"Type":"bogus"}]}"#).unwrap(),
            "invalid mount config for type \"bogus\": mount type unknown"
        );
        assert_eq!(
            refusal(r#"{"Mounts":[{"Type":"bind","BindOptions":{"Propagation":"x"}}]}"#).unwrap(),
            "invalid mount config for type \"bind\": invalid propagation mode: x"
        );
    }

    #[test]
    fn known_values_and_other_errors_are_not_enum_errors() {
        assert_eq!(
            refusal(r#"{"CgroupnsMode":"host","RestartPolicy":{"Name":"always"}}"#),
            None
        );
        assert_eq!(refusal(r#"{"CgroupnsMode":1}"#), None);
        assert_eq!(bad_enum_value(b"{"), None);
    }
}
