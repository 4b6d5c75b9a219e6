//! The real renewal systems as data: each preset is a TOML fragment over the
//! model's primitives (docs/model.md, "Renewal clients"), with its sources in comments. A cohort
//! picks one with `client = "intune-mdm"` or
//! `client = { preset = "intune-scep", variant = "ios", …overrides }`;
//! whatever the scenario writes wins over the preset.

/// One preset: its name, one line on what it is, and its TOML text.
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub text: &'static str,
}

macro_rules! preset {
    ($name:literal, $summary:literal) => {
        Preset {
            name: $name,
            summary: $summary,
            text: include_str!(concat!($name, ".toml")),
        }
    };
}

pub const PRESETS: &[Preset] = &[
    preset!("intune-mdm", "Intune MDM device certificate: 41-day window, boot + 4-hourly task, 7-day retry gate, stranded on expiry"),
    preset!("intune-scep", "Intune SCEP profile via proxy and NDES: 20 % threshold held by Intune, 8-hourly sync, 1-hour challenge, 3 attempts"),
    preset!("intune-pkcs", "Intune PKCS profile: the connector requests on the device's behalf, PFX delivered at a later check-in"),
    preset!("imported-pkcs", "Imported PKCS certificate: never renewed"),
    preset!("adcs-autoenroll", "ADCS autoenrollment: boot + 8-hourly, window at max(80 % of L, expiry − 6 weeks), new request after expiry"),
    preset!("acme-certbot", "certbot ≥ 4.0: twice daily at random times, 1/3 of the lifetime left, 1–480 s sleep"),
    preset!("acme-sh", "acme.sh: daily at a random minute, 30 days before expiry"),
    preset!("cert-manager", "cert-manager: renews at 2/3 of the duration"),
    preset!("caddy", "Caddy/CertMagic: checks every 10 minutes, 1/3 of the lifetime left"),
    preset!("acme-ari", "ACME with Renewal Information (RFC 9773): uniform instant in a window at 2/3 ± 1/100 of the lifetime"),
];

pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_toml_with_a_cohort_table() {
        for p in PRESETS {
            let table: toml::Table =
                toml::from_str(p.text).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(
                table.get("cohort").is_some_and(|c| c.is_table()),
                "{} has no [cohort]",
                p.name
            );
        }
    }
}
