//! When a device is online (docs/model.md, "Devices and when they are
//! online"): power schedules, drawn day by day from the device's own random
//! stream, and the offline-episode overlay.
//!
//! Nothing here steps through time: `next_span` answers "from `t` on, when is
//! the device next online, and until when?" by drawing only the days (or
//! on/off periods) it has to look at.

use rand::RngExt;
use rand_distr::{Distribution, Normal, Poisson};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clock::{CivilDate, TimeOfDay, UtcInstant, UtcOffset};
use super::dist::{deserialize_dist, DurationDist};
use super::purpose;
use super::zone::{LocalClock, LocalDay, TimeZoneSetting};
use crate::engine::calendar::{is_weekend, CivilDay};
use crate::engine::time::{MS_PER_DAY, MS_PER_MINUTE};
use crate::engine::{Calendar, SimDuration, SimTime, StreamRng, Streams};

/// A base power schedule of a cohort.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "schedule", rename_all = "snake_case")]
pub enum PowerSchedule {
    /// Servers, kiosks: online all the time.
    AlwaysOn,
    /// Office PCs: on during working hours of working days.
    Office(OfficeHours),
    /// Laptops: several sessions a day, asleep in between.
    Laptop(LaptopUse),
    /// Alternating on/off periods (exponential: a two-state Markov chain).
    OnOff(OnOff),
    /// Online in each fixed slot independently with probability `p_online`:
    /// the textbook case of the closed forms (docs/model.md), useful for checks.
    RandomSlots(RandomSlots),
}

/// Defaults: LBNL-46930 (Webber et al., "Field Surveys of Office Equipment
/// Operating Patterns", 2001) found 44 % of office computers turned off at
/// night and later reviews put about half of office PCs on overnight and at
/// weekends, hence `left_on_share = 0.5`. Start ~ N(08:30, 30 min), stop ~
/// N(17:30, 45 min), `weekend_use` and `absence` (a few percent) are judgement
/// calls for a European office day, exposed so that users can calibrate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OfficeHours {
    /// Mean switch-on time, local clock.
    pub start: TimeOfDay,
    /// Standard deviation of the switch-on time (per device and day).
    pub start_sd: SimDuration,
    /// Mean switch-off time, local clock.
    pub stop: TimeOfDay,
    /// Standard deviation of the switch-off time.
    pub stop_sd: SimDuration,
    /// Share of devices left on overnight and at weekends (per device habit).
    pub left_on_share: f64,
    /// Probability that a device is used on a given weekend day.
    pub weekend_use: f64,
    /// Probability that a device is not used on a given working day.
    pub absence: f64,
    /// The local clock's fixed offset from UTC (no daylight saving).
    pub utc_offset: UtcOffset,
    /// A named zone that follows daylight saving (`"Europe/Berlin"`), or
    /// shares of the cohort in several zones; replaces `utc_offset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZoneSetting>,
    /// Days nobody comes in (local dates).
    pub holidays: Vec<CivilDate>,
}

impl Default for OfficeHours {
    fn default() -> Self {
        OfficeHours {
            start: TimeOfDay(SimDuration::from_mins(8 * 60 + 30)),
            start_sd: SimDuration::from_mins(30),
            stop: TimeOfDay(SimDuration::from_mins(17 * 60 + 30)),
            stop_sd: SimDuration::from_mins(45),
            left_on_share: 0.5,
            weekend_use: 0.05,
            absence: 0.05,
            utc_offset: UtcOffset::default(),
            time_zone: None,
            holidays: Vec::new(),
        }
    }
}

/// Defaults are judgement calls for a knowledge worker's laptop (no public
/// source): 2.5 sessions on a day of use, median 1 h each, between 07:00 and
/// 23:00; idle on 15 % of weekdays, used on 40 % of weekend days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LaptopUse {
    /// Mean number of sessions on a day of use (Poisson, at least one).
    pub sessions_per_day: f64,
    #[serde(deserialize_with = "deserialize_dist")]
    #[schemars(schema_with = "crate::model::dist::dist_as_written")]
    pub session_length: DurationDist,
    /// Sessions start between these local times.
    pub active_from: TimeOfDay,
    /// End of the local period in which sessions start.
    pub active_to: TimeOfDay,
    /// Probability of no use on a working day.
    pub idle_day: f64,
    /// Probability of use on a weekend day or holiday.
    pub weekend_use: f64,
    /// The local clock's fixed offset from UTC (no daylight saving).
    pub utc_offset: UtcOffset,
    /// A named zone or shares of zones, as for office hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZoneSetting>,
    /// Days used like a weekend day (local dates).
    pub holidays: Vec<CivilDate>,
}

impl Default for LaptopUse {
    fn default() -> Self {
        LaptopUse {
            sessions_per_day: 2.5,
            session_length: DurationDist::Lognormal {
                median: SimDuration::from_hours(1),
                sigma: 0.8,
            },
            active_from: TimeOfDay(SimDuration::from_hours(7)),
            active_to: TimeOfDay(SimDuration::from_hours(23)),
            idle_day: 0.15,
            weekend_use: 0.4,
            utc_offset: UtcOffset::default(),
            time_zone: None,
            holidays: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodLaw {
    /// Memoryless periods: a two-state Markov chain (closed form 2 in docs/model.md).
    Exponential,
    /// Weibull periods with `weibull_shape` (< 1: heavy-tailed, as measured
    /// availability often is: Nurmi, Brevik, Wolski, Euro-Par 2005).
    Weibull,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnOff {
    /// Mean length of an online period.
    pub mean_on: SimDuration,
    /// Mean length of an offline period.
    pub mean_off: SimDuration,
    /// The law of period lengths.
    #[serde(default = "default_law")]
    pub distribution: PeriodLaw,
    /// Shape of Weibull periods (below 1: heavy-tailed; 1: exponential).
    #[serde(default = "default_shape")]
    pub weibull_shape: f64,
}

fn default_law() -> PeriodLaw {
    PeriodLaw::Exponential
}
fn default_shape() -> f64 {
    0.7
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomSlots {
    /// Probability of being online in a slot.
    pub p_online: f64,
    /// Slot length.
    pub slot: SimDuration,
}

/// A share of the cohort goes dark at a date for a drawn duration, then
/// resumes its base schedule (COVID office closure, a device in a drawer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineEpisode {
    /// Share of the cohort's devices affected.
    pub share: f64,
    /// When the episode starts; with `start_until`, uniformly in between.
    pub start: UtcInstant,
    /// With it, each device's episode starts uniformly between `start` and this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_until: Option<UtcInstant>,
    #[serde(deserialize_with = "deserialize_dist")]
    #[schemars(schema_with = "crate::model::dist::dist_as_written")]
    pub duration: DurationDist,
}

/// One stretch of time during which the device is online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnlineSpan {
    /// Start of the part at or after the query time.
    pub from: SimTime,
    /// End (exclusive).
    pub until: SimTime,
    /// When the device booted into this span, if it did (a boot trigger).
    pub booted_at: Option<SimTime>,
}

/// Per-device state of an `on_off` schedule: the current period.
/// Queries for one device come in non-decreasing time order.
#[derive(Clone, Copy, Debug, Default)]
pub struct OnOffCursor {
    period_start: i64,
    period_end: i64,
    index: u64,
    on: bool,
    /// The current period was entered by a jump, not a real switch-on.
    jumped: bool,
    initialised: bool,
}

/// Where a device's schedule is evaluated: the run's randomness and calendar.
#[derive(Clone, Copy)]
pub struct DeviceClock<'a> {
    pub streams: &'a Streams,
    pub calendar: Calendar,
    pub device: u64,
}

/// A cohort's availability: a base schedule plus offline episodes.
#[derive(Clone, Copy)]
pub struct Availability<'a> {
    pub schedule: &'a PowerSchedule,
    pub episodes: &'a [OfflineEpisode],
}

impl Availability<'_> {
    /// The first online span that ends after `t` (its `from` is ≥ `t`), or
    /// `None` if the device is not online again before `limit`.
    pub fn next_span(
        &self,
        clock: &DeviceClock,
        cursor: &mut OnOffCursor,
        t: SimTime,
        limit: SimTime,
    ) -> Option<OnlineSpan> {
        let dark = self.dark_periods(clock);
        let mut t = t;
        let mut resumed = false;
        loop {
            if t >= limit {
                return None;
            }
            if let Some(&(_, end)) = dark.iter().find(|&&(s, e)| s <= t && t < e) {
                t = end;
                resumed = true;
                continue;
            }
            let mut span = self.schedule.next_span(clock, cursor, t, limit)?;
            if span.from >= limit {
                return None;
            }
            if let Some(&(_, end)) = dark.iter().find(|&&(s, e)| s <= span.from && span.from < e) {
                t = end;
                resumed = true;
                continue;
            }
            if resumed && span.from == t {
                // Coming back from an episode is a boot.
                span.booted_at = Some(t);
            }
            if let Some(&(start, _)) = dark
                .iter()
                .filter(|&&(s, _)| s > span.from && s < span.until)
                .min()
            {
                span.until = start;
            }
            return Some(span);
        }
    }

    /// The offline episodes this device is part of, as [start, end) pairs.
    fn dark_periods(&self, clock: &DeviceClock) -> Vec<(SimTime, SimTime)> {
        let mut out = Vec::new();
        for (i, ep) in self.episodes.iter().enumerate() {
            let i = i as u64;
            if clock.streams.unit(clock.device, purpose::EPISODE_MEMBER, i) >= ep.share {
                continue;
            }
            let first = ep.start.0;
            let last = ep.start_until.map_or(first, |u| u.0.max(first));
            let u = clock.streams.unit(clock.device, purpose::EPISODE_START, i);
            let start_unix = first + ((last - first) as f64 * u) as i64;
            let start = clock.calendar.sim_time(start_unix);
            let length = ep.duration.sample(&mut clock.streams.rng(
                clock.device,
                purpose::EPISODE_LENGTH,
                i,
            ));
            out.push((start, start + length));
        }
        out
    }
}

impl PowerSchedule {
    fn next_span(
        &self,
        clock: &DeviceClock,
        cursor: &mut OnOffCursor,
        t: SimTime,
        limit: SimTime,
    ) -> Option<OnlineSpan> {
        match self {
            PowerSchedule::AlwaysOn => Some(OnlineSpan {
                from: t,
                until: SimTime::MAX,
                booted_at: None,
            }),
            PowerSchedule::Office(o) => o.next_span(clock, t, limit),
            PowerSchedule::Laptop(l) => l.next_span(clock, t, limit),
            PowerSchedule::OnOff(o) => o.next_span(clock, cursor, t, limit),
            PowerSchedule::RandomSlots(r) => r.next_span(clock, t, limit),
        }
    }
}

/// The device's local clock: its zone from `time_zone`, else the fixed
/// `utc_offset`.
fn local_clock<'a>(
    clock: &DeviceClock,
    time_zone: &'a Option<TimeZoneSetting>,
    utc_offset: UtcOffset,
) -> LocalClock<'a> {
    match time_zone {
        Some(zones) => zones.for_device(clock.streams, clock.device).clock(),
        None => LocalClock::Fixed(utc_offset.0.ms()),
    }
}

/// Walks local days from the one containing `t`, asking `sessions` for each.
fn walk_days<'z, S: IntoIterator<Item = (SimTime, SimTime)>>(
    clock: &DeviceClock,
    local: LocalClock<'z>,
    t: SimTime,
    limit: SimTime,
    mut sessions: impl FnMut(&LocalDay<'z>) -> S,
) -> Option<OnlineSpan> {
    let mut day = local.local_day(&clock.calendar, t) - 1; // yesterday's session may run past midnight
    loop {
        let today = local.day(&clock.calendar, day);
        if today.midnight >= limit {
            return None;
        }
        for (s, e) in sessions(&today) {
            if e > t && s < limit {
                return Some(OnlineSpan {
                    from: s.max(t),
                    until: e,
                    booted_at: Some(s),
                });
            }
        }
        day += 1;
    }
}

fn is_holiday(holidays: &[CivilDate], day: CivilDay) -> bool {
    holidays.iter().any(|h| h.0 == day)
}

/// The device's random stream for a local day, if it is used that day: on
/// weekends and holidays with probability `weekend_use`, on working days
/// unless it is skipped with probability `skip`.
fn day_of_use(
    clock: &DeviceClock,
    day: CivilDay,
    holidays: &[CivilDate],
    weekend_use: f64,
    skip: f64,
) -> Option<StreamRng> {
    let mut rng = clock
        .streams
        .rng(clock.device, purpose::POWER_DAY, day as u64);
    let off_day = is_weekend(day) || is_holiday(holidays, day);
    let used: f64 = rng.random();
    let skipped = if off_day {
        used >= weekend_use
    } else {
        used < skip
    };
    (!skipped).then_some(rng)
}

impl OfficeHours {
    fn next_span(&self, clock: &DeviceClock, t: SimTime, limit: SimTime) -> Option<OnlineSpan> {
        if clock.streams.unit(clock.device, purpose::POWER_HABIT, 0) < self.left_on_share {
            return Some(OnlineSpan {
                from: t,
                until: SimTime::MAX,
                booted_at: None,
            });
        }
        let local = local_clock(clock, &self.time_zone, self.utc_offset);
        walk_days(clock, local, t, limit, |today| self.session(clock, today))
    }

    /// The device's session on a local day, if it is used that day.
    fn session(&self, clock: &DeviceClock, today: &LocalDay) -> Option<(SimTime, SimTime)> {
        let mut rng = day_of_use(
            clock,
            today.day,
            &self.holidays,
            self.weekend_use,
            self.absence,
        )?;
        let clock_time = |mean: TimeOfDay, sd: SimDuration, rng: &mut StreamRng| {
            let ms = Normal::new(mean.0.ms() as f64, sd.ms().max(0) as f64)
                .map(|d| d.sample(rng))
                .unwrap_or(mean.0.ms() as f64);
            ms.clamp(0.0, MS_PER_DAY as f64) as i64
        };
        let on = clock_time(self.start, self.start_sd, &mut rng);
        let off = clock_time(self.stop, self.stop_sd, &mut rng)
            .max(on + 15 * MS_PER_MINUTE)
            .min(MS_PER_DAY);
        (off > on).then(|| (today.at(on), today.at(off)))
    }
}

impl LaptopUse {
    fn next_span(&self, clock: &DeviceClock, t: SimTime, limit: SimTime) -> Option<OnlineSpan> {
        let local = local_clock(clock, &self.time_zone, self.utc_offset);
        walk_days(clock, local, t, limit, |today| self.sessions(clock, today))
    }

    /// The day's sessions, sorted and merged where they overlap.
    fn sessions(&self, clock: &DeviceClock, today: &LocalDay) -> Vec<(SimTime, SimTime)> {
        let Some(mut rng) = day_of_use(
            clock,
            today.day,
            &self.holidays,
            self.weekend_use,
            self.idle_day,
        ) else {
            return Vec::new();
        };
        let extra = Poisson::new((self.sessions_per_day - 1.0).max(1e-9))
            .map(|p| p.sample(&mut rng))
            .unwrap_or(0.0);
        let n = (1 + extra as usize).min(24);
        let (lo, hi) = (
            self.active_from.0.ms(),
            self.active_to.0.ms().max(self.active_from.0.ms() + 1),
        );
        let mut out: Vec<(SimTime, SimTime)> = (0..n)
            .map(|_| {
                let s = rng.random_range(lo..hi);
                let len = self.session_length.sample(&mut rng).ms().max(MS_PER_MINUTE);
                // Starts on the local clock; lasts `len` of elapsed time.
                let start = today.at(s);
                (start, start + SimDuration(len.min(2 * MS_PER_DAY - s)))
            })
            .collect();
        out.sort_unstable();
        let mut merged: Vec<(SimTime, SimTime)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

impl OnOff {
    fn rates(&self) -> (f64, f64) {
        // a: off→on rate, b: on→off rate (per ms).
        (
            1.0 / self.mean_off.ms().max(1) as f64,
            1.0 / self.mean_on.ms().max(1) as f64,
        )
    }

    fn draw_period(&self, clock: &DeviceClock, on: bool, index: u64) -> i64 {
        let mean = if on { self.mean_on } else { self.mean_off };
        let dist = match self.distribution {
            PeriodLaw::Exponential => DurationDist::Exponential { mean },
            PeriodLaw::Weibull => DurationDist::Weibull {
                mean,
                shape: self.weibull_shape,
            },
        };
        dist.sample(
            &mut clock
                .streams
                .rng(clock.device, purpose::ONOFF_PERIOD, index),
        )
        .ms()
        .max(1)
    }

    fn next_span(
        &self,
        clock: &DeviceClock,
        cur: &mut OnOffCursor,
        t: SimTime,
        limit: SimTime,
    ) -> Option<OnlineSpan> {
        let (a, b) = self.rates();
        let pi = a / (a + b);
        if !cur.initialised {
            // Start in the stationary state (exact for exponential periods;
            // for Weibull the first period is a fresh one, not a residual).
            let on = clock.streams.unit(clock.device, purpose::ONOFF_JUMP, 0) < pi;
            *cur = OnOffCursor {
                period_start: t.0,
                period_end: t.0 + self.draw_period(clock, on, 0),
                index: 1,
                on,
                jumped: true,
                initialised: true,
            };
        }
        debug_assert!(
            t.0 >= cur.period_start,
            "on/off schedule queried backwards in time"
        );
        if t.0 > cur.period_end && self.distribution == PeriodLaw::Exponential {
            // Memoryless: jump straight to `t`. At `period_end` the state
            // flips; the state at `t` follows the chain's transition law.
            let state_at_end = !cur.on;
            let decay = (-(a + b) * (t.0 - cur.period_end) as f64).exp();
            let p_on = if state_at_end {
                pi + (1.0 - pi) * decay
            } else {
                pi * (1.0 - decay)
            };
            let on = clock
                .streams
                .unit(clock.device, purpose::ONOFF_JUMP, cur.index)
                < p_on;
            let length = self.draw_period(clock, on, cur.index);
            *cur = OnOffCursor {
                period_start: t.0,
                period_end: t.0 + length,
                index: cur.index + 1,
                on,
                jumped: true,
                initialised: true,
            };
        }
        loop {
            while t.0 >= cur.period_end {
                self.step(clock, cur);
            }
            if cur.on {
                return Some(OnlineSpan {
                    from: t.max(SimTime(cur.period_start)),
                    until: SimTime(cur.period_end),
                    booted_at: (!cur.jumped).then_some(SimTime(cur.period_start)),
                });
            }
            if cur.period_end >= limit.0 {
                return None;
            }
            self.step(clock, cur);
        }
    }

    fn step(&self, clock: &DeviceClock, cur: &mut OnOffCursor) {
        cur.on = !cur.on;
        cur.period_start = cur.period_end;
        cur.period_end += self.draw_period(clock, cur.on, cur.index);
        cur.index += 1;
        cur.jumped = false;
    }
}

impl RandomSlots {
    fn online(&self, clock: &DeviceClock, slot: i64) -> bool {
        clock.streams.unit(clock.device, purpose::SLOT, slot as u64) < self.p_online
    }

    fn next_span(&self, clock: &DeviceClock, t: SimTime, limit: SimTime) -> Option<OnlineSpan> {
        let len = self.slot.ms().max(1);
        let mut k = t.0.div_euclid(len);
        while !self.online(clock, k) {
            k += 1;
            if k * len >= limit.0 {
                return None;
            }
        }
        let mut end = k + 1;
        while end - k < 64 && self.online(clock, end) {
            end += 1;
        }
        let booted_at = (!self.online(clock, k - 1)).then_some(SimTime(k * len));
        Some(OnlineSpan {
            from: t.max(SimTime(k * len)),
            until: SimTime(end * len),
            booted_at,
        })
    }
}
