//! A progress bar on stderr for long runs: simulated time reached, events
//! per second, ETA. Hidden when stderr is not a terminal or with --quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use certfleet::engine::Calendar;
use certfleet::simulation::Progress;

pub fn bar(
    quiet: bool,
    calendar: Calendar,
    horizon_ms: i64,
) -> (ProgressBar, Box<dyn FnMut(Progress) + Send>) {
    let visible = !quiet && std::io::stderr().is_terminal();
    let target = if visible {
        ProgressDrawTarget::stderr_with_hz(8)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(horizon_ms.max(1) as u64), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} simulating [{bar:32}] {percent:>3}% {msg} · ETA {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let handle = bar.clone();
    let started = std::time::Instant::now();
    let report = move |p: Progress| {
        handle.set_position(p.now.ms().clamp(0, horizon_ms) as u64);
        let rate = p.events as f64 / started.elapsed().as_secs_f64().max(1e-3);
        handle.set_message(format!(
            "{} · {:.1} M events/s",
            &calendar.format(p.now)[..10],
            rate / 1e6
        ));
    };
    (bar, Box::new(report))
}
