//! Checks a parsed scenario for values that are out of range or contradict
//! each other. Every problem names its key path; the loader turns the path
//! into a line and column.

use crate::engine::time::{MS_PER_MINUTE, MS_PER_SECOND};
use crate::engine::SimDuration;
use crate::model::certificate::Enrollment;
use crate::model::client::{OnExpiry, RenewalRule, Trigger};
use crate::model::clock::UtcOffset;
use crate::model::dist::DurationDist;
use crate::model::events::ScheduledEvent;
use crate::model::power::PowerSchedule;
use crate::model::zone::TimeZoneSetting;
use crate::model::Scenario;

/// One problem: where (key path), what, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>, hint: Option<&str>) {
        let problem = Problem {
            path: path.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        };
        // The shared [server] policy is checked once per cohort.
        if !self.0.contains(&problem) {
            self.0.push(problem);
        }
    }

    fn probability(&mut self, path: String, p: f64) {
        if !(0.0..=1.0).contains(&p) || p.is_nan() {
            self.push(
                path,
                format!("expected a probability between 0 and 1, got {p}"),
                Some("write a share as a decimal, e.g. 0.05 for 5 %"),
            );
        }
    }

    fn positive(&mut self, path: String, d: SimDuration, what: &str) {
        if d.ms() <= 0 {
            self.push(
                path,
                format!("{what} must be longer than zero"),
                Some("write a positive duration such as \"4h\""),
            );
        }
    }

    fn dist(&mut self, path: String, d: &DurationDist) {
        for (field, message) in d.problems() {
            let hint = match field {
                "max" => "max must be at least min, e.g. { dist = \"uniform\", min = \"30d\", max = \"240d\" }",
                _ => "a positive finite number, e.g. 0.8",
            };
            self.push(format!("{path}.{field}"), message, Some(hint));
        }
    }
}

/// At least `min` long (below it the model does not resolve the behaviour,
/// and a run would spend its time on nothing).
impl Problems {
    fn at_least(&mut self, path: String, d: SimDuration, min: SimDuration, what: &str) {
        if d < min {
            self.push(
                path,
                format!("{what} ({d}) is shorter than {min}"),
                Some(&format!("certfleet needs at least {min} here")),
            );
        }
    }
}

/// Most CA workers: more is an unlimited CA (leave the queue unbounded and
/// the service time short); each worker costs memory.
const MAX_WORKERS: u32 = 1_000_000;

/// Largest fleet the engine addresses (device ids fit in 48 bits of the
/// event key); memory runs out long before.
const MAX_DEVICES: u64 = 1 << 40;

pub fn validate(s: &Scenario) -> Vec<Problem> {
    let mut p = Problems::default();
    if s.name.trim().is_empty() {
        p.push(
            "name",
            "the scenario needs a name",
            Some("name = \"my-fleet\""),
        );
    }
    if s.horizon.ms() < MS_PER_MINUTE {
        p.push(
            "horizon",
            format!("the horizon ({}) is shorter than a minute", s.horizon),
            Some("simulate at least a renewal cycle, e.g. horizon = \"2y\""),
        );
    }
    if s.cohorts.is_empty() {
        p.push(
            "cohorts",
            "the scenario has no cohort",
            Some("add a [[cohorts]] table with a name, count, lifetime, power and client"),
        );
    } else if s.total_devices() == 0 {
        p.push(
            "cohorts",
            "the cohorts add up to no device",
            Some("give at least one cohort a count above 0"),
        );
    } else if s.total_devices() > MAX_DEVICES {
        p.push(
            "cohorts",
            format!(
                "{} devices is more than certfleet can address ({MAX_DEVICES})",
                s.total_devices()
            ),
            Some("split the fleet over several runs, or model a share of it with --scale"),
        );
    }
    if s.cohorts.len() > u16::MAX as usize {
        p.push(
            "cohorts",
            format!("{} cohorts is more than {}", s.cohorts.len(), u16::MAX),
            Some("merge cohorts that share a behaviour"),
        );
    }
    for (i, c) in s.cohorts.iter().enumerate() {
        let at = |k: &str| format!("cohorts[{i}].{k}");
        if c.name.trim().is_empty() {
            p.push(
                at("name"),
                "a cohort needs a name",
                Some("name = \"office-pcs\""),
            );
        }
        if s.cohorts[..i].iter().any(|o| o.name == c.name) {
            p.push(
                at("name"),
                format!("the cohort name {:?} is used twice", c.name),
                Some("cohort names label the outputs: make each unique"),
            );
        }
        p.positive(at("lifetime"), c.lifetime, "the certificate lifetime");
        if let Enrollment::Ramp { from, to } = c.enrollment {
            if to < from {
                p.push(
                    at("enrollment.to"),
                    format!("the ramp ends ({to}) before it starts ({from})"),
                    Some("`to` must not be earlier than `from`"),
                );
            }
        }
        check_power(&mut p, &at("power"), &c.power);
        for (j, ep) in c.offline_episodes.iter().enumerate() {
            let ep_at = format!("cohorts[{i}].offline_episodes[{j}]");
            p.probability(format!("{ep_at}.share"), ep.share);
            if ep.start_until.is_some_and(|u| u < ep.start) {
                p.push(
                    format!("{ep_at}.start_until"),
                    format!(
                        "start_until ({}) is before start ({})",
                        ep.start_until.unwrap(),
                        ep.start
                    ),
                    Some("`start_until` is the latest start date: it must be on or after `start`"),
                );
            }
            p.dist(format!("{ep_at}.duration"), &ep.duration);
        }
        let client = &c.client;
        if client.triggers.is_empty() {
            p.push(
                at("client.triggers"),
                "the client has no trigger, so it would never try",
                Some("add e.g. { kind = \"periodic\", every = \"8h\" }"),
            );
        }
        for (j, t) in client.triggers.iter().enumerate() {
            if let Trigger::Periodic { every, jitter, .. } = t {
                p.positive(
                    format!("cohorts[{i}].client.triggers[{j}].every"),
                    *every,
                    "a periodic trigger's interval",
                );
                if every.ms() > 0 {
                    p.at_least(
                        format!("cohorts[{i}].client.triggers[{j}].every"),
                        *every,
                        SimDuration(MS_PER_SECOND),
                        "a periodic trigger's interval",
                    );
                }
                if jitter > every {
                    p.push(
                        format!("cohorts[{i}].client.triggers[{j}].jitter"),
                        format!("jitter ({jitter}) is longer than the period ({every})"),
                        Some("a jitter up to the period spreads firings over the whole period"),
                    );
                }
            }
        }
        check_rule(&mut p, &at("client.renewal"), &client.renewal, c.lifetime);
        if let OnExpiry::ManualRecovery { delay } = &client.on_expiry {
            p.dist(at("client.on_expiry.delay"), delay);
        }
        if let Some(server) = &c.server {
            check_rule(&mut p, &at("server.renewal"), &server.renewal, c.lifetime);
        } else {
            check_rule(&mut p, "server.renewal", &s.server.renewal, c.lifetime);
        }
    }
    if s.ca.workers > MAX_WORKERS {
        p.push(
            "ca.workers",
            format!("{} workers is more than {MAX_WORKERS}", s.ca.workers),
            Some("for a CA without a capacity limit, use many workers (up to a million) or a short service time"),
        );
    }
    if s.ca.workers == 0 {
        p.push(
            "ca.workers",
            "the CA needs at least one worker",
            Some("workers = 1 or more; a CA that is down is an outage event"),
        );
    }
    p.dist("ca.service_time".into(), &s.ca.service_time);
    if let Some(t) = s.ca.timeout {
        p.positive("ca.timeout".into(), t, "the client timeout");
    }
    for (name, stage) in &s.stages {
        let at = |k: &str| format!("stages.{name}.{k}");
        if name == "ca" {
            p.push(
                format!("stages.{name}"),
                "the stage name `ca` is reserved for the [ca] table",
                Some("name the stage after what it is, e.g. `ndes` or `proxy`"),
            );
        }
        if stage.workers == 0 {
            p.push(at("workers"), "a stage needs at least one worker", None);
        }
        p.dist(at("service_time"), &stage.service_time);
        if let Some(t) = stage.timeout {
            p.positive(at("timeout"), t, "the client timeout");
        }
    }
    for (i, c) in s.cohorts.iter().enumerate() {
        for (j, stage) in c.route.iter().enumerate() {
            if !s.stages.contains_key(stage) {
                p.push(
                    format!("cohorts[{i}].route[{j}]"),
                    format!("no stage named {stage:?}"),
                    Some(&stage_hint(s)),
                );
            }
        }
        if c.client.attempts == 0 {
            p.push(
                format!("cohorts[{i}].client.attempts"),
                "a try needs at least one attempt",
                Some("attempts = 1 sends one request per try"),
            );
        }
        if let Some(d) = &c.client.request_delay {
            p.dist(format!("cohorts[{i}].client.request_delay"), d);
        }
        let server_at = if c.server.is_some() {
            format!("cohorts[{i}].server")
        } else {
            "server".to_string()
        };
        if let Some(a) = &s.server_for(c).approval {
            p.probability(format!("{server_at}.approval.share"), a.share);
            p.dist(format!("{server_at}.approval.delay"), &a.delay);
        }
    }
    for (i, e) in s.events.iter().enumerate() {
        let at = |k: &str| format!("events[{i}].{k}");
        if let Some(period) = e.period() {
            match (period.to, period.duration) {
                (Some(_), Some(_)) => p.push(
                    at("duration"),
                    "give either `to` or `duration`, not both",
                    Some("remove one of them"),
                ),
                (None, None) => p.push(
                    at("from"),
                    "the event has no end",
                    Some("add to = \"2025-03-18\" or duration = \"3d\""),
                ),
                (Some(to), None) if to <= period.from => p.push(
                    at("to"),
                    format!("the event ends ({to}) before it starts ({})", period.from),
                    Some("`to` must be later than `from`"),
                ),
                (None, Some(d)) if d.ms() <= 0 => p.push(
                    at("duration"),
                    "the event's duration must be longer than zero",
                    Some("write a positive duration such as \"6h\""),
                ),
                _ => {}
            }
        }
        if let Some(target) = e.target() {
            if target != "ca" && !s.stages.contains_key(target) {
                p.push(
                    at("target"),
                    format!("no stage named {target:?}"),
                    Some(&stage_hint(s)),
                );
            }
        }
        for (j, name) in e.cohorts().iter().enumerate() {
            if !s.cohorts.iter().any(|c| &c.name == name) {
                let names: Vec<&str> = s.cohorts.iter().map(|c| c.name.as_str()).collect();
                p.push(
                    format!("events[{i}].cohorts[{j}]"),
                    format!("no cohort named {name:?}"),
                    Some(&format!("cohorts are: {}", names.join(", "))),
                );
            }
        }
        match e {
            ScheduledEvent::Degraded { capacity, .. } if !(*capacity > 0.0 && *capacity <= 1.0) => p.push(
                at("capacity"),
                format!("capacity must be in (0, 1], got {capacity}"),
                Some("0.25 means the stage works at a quarter of its speed; a stopped stage is an outage"),
            ),
            ScheduledEvent::MassRevocation { share, .. } => p.probability(at("share"), *share),
            ScheduledEvent::LifetimeChange { lifetime, .. } => p.positive(at("lifetime"), *lifetime, "the new lifetime"),
            _ => {}
        }
    }
    p.0
}

fn stage_hint(s: &Scenario) -> String {
    if s.stages.is_empty() {
        "declare it as a [stages.NAME] table (workers, service_time, …)".to_string()
    } else {
        format!(
            "stages are: ca, {}",
            s.stages.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

/// `time_zone` replaces `utc_offset`; its shares cover the whole cohort.
fn check_zone(p: &mut Problems, at: &str, offset: UtcOffset, zone: &Option<TimeZoneSetting>) {
    let Some(zone) = zone else { return };
    if offset != UtcOffset::default() {
        p.push(
            format!("{at}.utc_offset"),
            "utc_offset and time_zone both set the local clock",
            Some("keep one: time_zone = \"Europe/Berlin\" follows daylight saving, utc_offset = \"+01:00\" never changes"),
        );
    }
    let shares = zone.shares();
    if shares.is_empty() {
        p.push(
            format!("{at}.time_zone"),
            "no time zone given",
            Some("time_zone = { \"Europe/Berlin\" = 0.6, \"America/New_York\" = 0.4 }"),
        );
        return;
    }
    for (name, share) in &shares {
        if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
            p.push(
                format!("{at}.time_zone"),
                format!("the share of {name:?} must be above 0 and at most 1, got {share}"),
                Some("shares are decimals that add up to 1, e.g. { \"Europe/Berlin\" = 0.6, \"America/New_York\" = 0.4 }"),
            );
            return;
        }
    }
    let total: f64 = shares.iter().map(|(_, s)| s).sum();
    if (total - 1.0).abs() > 1e-6 {
        p.push(
            format!("{at}.time_zone"),
            format!("the shares add up to {total}, not 1"),
            Some("give every device a zone: the shares of the cohort must add up to 1"),
        );
    }
}

fn check_power(p: &mut Problems, at: &str, power: &PowerSchedule) {
    match power {
        PowerSchedule::AlwaysOn => {}
        PowerSchedule::Office(o) => {
            p.probability(format!("{at}.left_on_share"), o.left_on_share);
            p.probability(format!("{at}.weekend_use"), o.weekend_use);
            p.probability(format!("{at}.absence"), o.absence);
            if o.stop <= o.start {
                p.push(
                    format!("{at}.stop"),
                    format!("stop ({}) is not after start ({})", o.stop, o.start),
                    Some("local clock times, e.g. start = \"08:30\", stop = \"17:30\""),
                );
            }
            check_zone(p, at, o.utc_offset, &o.time_zone);
        }
        PowerSchedule::Laptop(l) => {
            p.probability(format!("{at}.idle_day"), l.idle_day);
            p.probability(format!("{at}.weekend_use"), l.weekend_use);
            if !(l.sessions_per_day >= 1.0 && l.sessions_per_day <= 24.0) {
                p.push(
                    format!("{at}.sessions_per_day"),
                    format!(
                        "expected between 1 and 24 sessions on a day of use, got {}",
                        l.sessions_per_day
                    ),
                    Some("sessions_per_day = 2.5 is a typical knowledge worker"),
                );
            }
            if l.active_to <= l.active_from {
                p.push(
                    format!("{at}.active_to"),
                    format!(
                        "active_to ({}) is not after active_from ({})",
                        l.active_to, l.active_from
                    ),
                    Some("local clock times, e.g. active_from = \"07:00\", active_to = \"23:00\""),
                );
            }
            p.dist(format!("{at}.session_length"), &l.session_length);
            check_zone(p, at, l.utc_offset, &l.time_zone);
        }
        PowerSchedule::OnOff(o) => {
            let second = SimDuration(MS_PER_SECOND);
            p.at_least(
                format!("{at}.mean_on"),
                o.mean_on,
                second,
                "the mean on-period",
            );
            p.at_least(
                format!("{at}.mean_off"),
                o.mean_off,
                second,
                "the mean off-period",
            );
            // Below 0.1 nearly every period is ~0 and a few are astronomically
            // long: the schedule flips every millisecond (measured shapes are
            // 0.3–0.8, Nurmi et al. 2005).
            if !(o.weibull_shape.is_finite() && (0.1..=100.0).contains(&o.weibull_shape)) {
                p.push(
                    format!("{at}.weibull_shape"),
                    format!(
                        "expected a Weibull shape between 0.1 and 100, got {}",
                        o.weibull_shape
                    ),
                    Some("measured availability fits shapes of 0.3–0.8; 1 is exponential"),
                );
            }
        }
        PowerSchedule::RandomSlots(r) => {
            p.probability(format!("{at}.p_online"), r.p_online);
            p.at_least(
                format!("{at}.slot"),
                r.slot,
                SimDuration(MS_PER_MINUTE),
                "the slot length",
            );
        }
    }
}

fn check_rule(p: &mut Problems, at: &str, rule: &RenewalRule, lifetime: SimDuration) {
    match *rule {
        RenewalRule::BeforeExpiry { window } => {
            p.positive(format!("{at}.window"), window, "the renewal window");
            if window >= lifetime && lifetime.ms() > 0 {
                p.push(
                    format!("{at}.window"),
                    format!("the renewal window ({window}) is at least as long as the lifetime ({lifetime}): every certificate would be due the moment it is issued"),
                    Some("choose a window shorter than the lifetime, e.g. 20–40 % of it"),
                );
            }
        }
        RenewalRule::FractionRemaining {
            fraction,
            short_lived,
        } => {
            if !(fraction > 0.0 && fraction < 1.0) {
                p.push(
                    format!("{at}.fraction"),
                    format!(
                        "expected a share of the lifetime strictly between 0 and 1, got {fraction}"
                    ),
                    Some("certbot renews with 1/3 left: fraction = 0.333"),
                );
            }
            if let Some(sl) = short_lived {
                if !(sl.fraction > 0.0 && sl.fraction < 1.0) {
                    p.push(
                        format!("{at}.short_lived.fraction"),
                        format!(
                            "expected a share strictly between 0 and 1, got {}",
                            sl.fraction
                        ),
                        None,
                    );
                }
            }
        }
        RenewalRule::Adcs {
            renewal_period,
            elapsed_fraction,
        } => {
            p.positive(
                format!("{at}.renewal_period"),
                renewal_period,
                "the renewal period",
            );
            if !(elapsed_fraction > 0.0 && elapsed_fraction <= 1.0) {
                p.push(
                    format!("{at}.elapsed_fraction"),
                    format!("expected a share of the lifetime in (0, 1], got {elapsed_fraction}"),
                    Some("0.8 is ADCS's default: renew after 80 % of the lifetime"),
                );
            }
        }
        RenewalRule::Ari { centre, half_width } => {
            if !(half_width >= 0.0 && centre - half_width > 0.0 && centre + half_width < 1.0) {
                p.push(
                    format!("{at}.centre"),
                    format!("the ARI window {centre} ± {half_width} of the lifetime must lie strictly inside (0, 1)"),
                    Some("Let's Encrypt: centre = 0.6667, half_width = 0.01"),
                );
            }
        }
        RenewalRule::Anytime | RenewalRule::Never => {}
    }
}
