//! Numbers in units people read, one definition for the terminal, the HTML
//! report and the chart axes: durations as `2 d 3 h`, `4 min 10 s`,
//! `850 ms`; shares as percentages with a sensible number of digits; counts
//! with thousands separators. (summary.json and the CSV files keep machine
//! units: seconds and shares.)

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// A duration in seconds, in the two largest units that matter:
/// `850 ms`, `4.2 s`, `4 min 10 s`, `3 h 25 min`, `2 d 3 h`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "—".into();
    }
    if secs < 0.0 {
        return format!("−{}", duration(-secs));
    }
    if secs == 0.0 {
        return "0 s".into();
    }
    let pair = |big: f64, small: f64, big_unit: &str, small_unit: &str| {
        let smalls = (secs / small).round() as u64;
        let per = (big / small).round() as u64;
        let (b, s) = (smalls / per, smalls % per);
        if s == 0 {
            format!("{b} {big_unit}")
        } else {
            format!("{b} {big_unit} {s} {small_unit}")
        }
    };
    if secs >= DAY - HOUR / 2.0 {
        pair(DAY, HOUR, "d", "h")
    } else if secs >= HOUR - MINUTE / 2.0 {
        pair(HOUR, MINUTE, "h", "min")
    } else if secs >= MINUTE - 0.5 {
        pair(MINUTE, 1.0, "min", "s")
    } else if secs >= 9.95 {
        format!("{:.0} s", secs)
    } else if secs >= 0.9995 {
        format!("{:.1} s", secs)
    } else {
        let ms = (secs * 1000.0).round();
        if ms < 1.0 {
            "< 1 ms".into()
        } else {
            format!("{ms:.0} ms")
        }
    }
}

/// A share (0–1) as a percentage: `0 %`, `0.0123 %`, `1.25 %`, `12.5 %`, `100 %`.
pub fn share(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let p = x * 100.0;
    if p == 0.0 {
        return "0 %".into();
    }
    let a = p.abs();
    let decimals = if (99.95..=100.0).contains(&a) {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // Three significant digits below 1 %.
        (2 - a.log10().floor() as i32).clamp(3, 8) as usize
    };
    format!("{p:.decimals$} %")
}

/// 1234567 → `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal number with thousands separators and two decimals at most:
/// `3.21`, `1,234.5`, `12,345`.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let sign = if x < 0.0 { "−" } else { "" };
    let a = x.abs();
    let cents = (a * 100.0).round() as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    if a >= 1000.0 || frac == 0 {
        let whole = (a.round()) as u64;
        return format!("{sign}{}", count(whole));
    }
    let text = format!("{frac:02}");
    format!("{sign}{}.{}", count(whole), text.trim_end_matches('0'))
}

/// The unit a duration axis uses for values up to `max_secs`: its name and
/// its length in seconds (s below 2 min, min below 2 h, h below 2 days,
/// then days; ms below 1 s).
pub fn duration_axis(max_secs: f64) -> (&'static str, f64) {
    if !(max_secs.is_finite()) || max_secs < 1.0 {
        if max_secs > 0.0 {
            ("ms", 0.001)
        } else {
            ("s", 1.0)
        }
    } else if max_secs < 2.0 * MINUTE {
        ("s", 1.0)
    } else if max_secs < 2.0 * HOUR {
        ("min", MINUTE)
    } else if max_secs < 2.0 * DAY {
        ("h", HOUR)
    } else {
        ("d", DAY)
    }
}

/// How a number from summary.json is shown to people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Show {
    /// A count: `12,345`.
    Int,
    /// A share (0–1) as a percentage: `1.25 %`.
    Pct,
    /// Seconds as a duration: `2 d 3 h`.
    Duration,
    /// A decimal number: `3.21`, `1,235`.
    Number,
    /// As written (dates, names).
    Text,
}

impl Show {
    /// The value shown; `null` reads "not within the horizon" for a
    /// duration (a time that was never reached) and "—" otherwise.
    pub fn format(self, v: &serde_json::Value) -> String {
        use serde_json::Value;
        match (self, v) {
            (Show::Duration, Value::Null) => "not within the horizon".into(),
            (_, Value::Null) => "—".into(),
            (Show::Int, Value::Number(n)) => match n.as_u64() {
                Some(u) => count(u),
                None => number(n.as_f64().unwrap_or(0.0)),
            },
            (Show::Pct, Value::Number(n)) => share(n.as_f64().unwrap_or(0.0)),
            (Show::Duration, Value::Number(n)) => duration(n.as_f64().unwrap_or(0.0)),
            (Show::Number, Value::Number(n)) => number(n.as_f64().unwrap_or(0.0)),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_their_units() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(0.85), "850 ms");
        assert_eq!(duration(0.0004), "< 1 ms");
        assert_eq!(duration(4.2), "4.2 s");
        assert_eq!(duration(59.4), "59 s");
        assert_eq!(duration(59.7), "1 min");
        assert_eq!(duration(250.0), "4 min 10 s");
        assert_eq!(duration(3.0 * 3600.0 + 25.0 * 60.0), "3 h 25 min");
        assert_eq!(duration(2.0 * 86_400.0 + 3.0 * 3600.0), "2 d 3 h");
        // The troubled CA's median wait.
        assert_eq!(duration(164_888.575), "1 d 22 h");
        assert_eq!(duration(86_399.0), "1 d");
    }

    #[test]
    fn shares_keep_three_significant_digits() {
        assert_eq!(share(0.0), "0 %");
        assert_eq!(share(0.000_123), "0.0123 %");
        assert_eq!(share(0.0125), "1.25 %");
        assert_eq!(share(0.125), "12.5 %");
        assert_eq!(share(1.0), "100 %");
        assert_eq!(share(0.003_84), "0.384 %");
    }

    #[test]
    fn counts_and_numbers_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(210_201), "210,201");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(number(3.214), "3.21");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1234.56), "1,235");
        assert_eq!(duration_axis(300_000.0), ("d", 86_400.0));
        assert_eq!(duration_axis(30.0), ("s", 1.0));
    }
}
