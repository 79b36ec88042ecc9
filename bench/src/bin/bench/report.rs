//! What the run prints: the markdown table, the ratio lines, the targets, and the W1 chart.

use std::fmt::Write;

use crate::clients::Backend;

/// One client's result on one workload (medians over rounds).
#[derive(Debug, Clone)]
pub struct Result {
    pub backend: Backend,
    /// `W1-c16`, `W2`, `W3`, `W4-single`, `W4-bulk`.
    pub workload: String,
    pub peer: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    /// Median throughput over rounds (higher is better).
    pub value: f64,
    pub rounds: Vec<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// W2: highest VmHWM over the rounds, and its rise over the RSS before the run (MiB).
    pub rss_peak: Option<f64>,
    pub rss_rise: Option<f64>,
}

fn group(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// weir's throughput over `r`'s: the median of the per-round ratios (the two ran back to back
/// in each round, so a slow stretch of the machine hits both), or the ratio of the medians
/// when the rounds do not pair up.
fn paired(w: &Result, r: &Result) -> f64 {
    if w.rounds.len() == r.rounds.len() && !w.rounds.is_empty() {
        let ratios: Vec<f64> = w.rounds.iter().zip(&r.rounds).map(|(a, b)| a / b).collect();
        crate::measure::median(&ratios)
    } else {
        w.value / r.value
    }
}

fn weir_ratio(results: &[Result], r: &Result) -> Option<f64> {
    results
        .iter()
        .find(|w| w.backend == r.backend && w.workload == r.workload && w.peer == "weir")
        .map(|w| paired(w, r))
}

/// The results as one markdown table.
pub fn table(results: &[Result]) -> String {
    let mut out = String::new();
    out.push_str("| workload | backend | client | throughput | p50 ms | p99 ms | peak RSS MiB (rise) | weir ÷ client |\n");
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|\n");
    for r in results {
        let ms = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
        let rss = match (r.rss_peak, r.rss_rise) {
            (Some(p), Some(d)) => format!("{p:.1} (+{d:.1})"),
            (Some(p), None) => format!("{p:.1}"),
            _ => String::new(),
        };
        let ratio = match weir_ratio(results, r) {
            Some(x) if r.peer != "weir" => format!("{x:.2}"),
            _ => String::new(),
        };
        let spread = if r.rounds.len() > 1 {
            let lo = r.rounds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = r.rounds.iter().copied().fold(0.0, f64::max);
            format!(" (±{:.0}%)", 50.0 * (hi - lo) / r.value)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} (`{}`) | {} {}{} | {} | {} | {} | {} |",
            r.workload,
            r.backend.name(),
            r.label,
            r.peer,
            group(r.value),
            r.unit,
            spread,
            ms(r.p50_ms),
            ms(r.p99_ms),
            rss,
            ratio
        );
    }
    out
}

/// `ratio weir/<peer> <workload> <backend>: <x.xx>` for every peer of every workload.
pub fn ratio_lines(results: &[Result]) -> Vec<(String, f64)> {
    let mut lines = Vec::new();
    for r in results.iter().filter(|r| r.peer != "weir") {
        if let Some(ratio) = weir_ratio(results, r) {
            lines.push((
                format!(
                    "ratio weir/{} {} {}: {:.2}",
                    r.peer,
                    r.workload,
                    r.backend.name(),
                    ratio
                ),
                ratio,
            ));
        }
    }
    lines
}

fn ratio(results: &[Result], backend: Backend, workload: &str, peer: &str) -> Option<f64> {
    let find = |p: &str| {
        results
            .iter()
            .find(|r| r.backend == backend && r.workload == workload && r.peer == p)
    };
    Some(paired(find("weir")?, find(peer)?))
}

/// The issue's targets, each with its measured value and whether it holds.
pub fn targets(results: &[Result]) -> Vec<String> {
    let mut out = Vec::new();
    let backends: Vec<Backend> = [Backend::Postgres, Backend::MySql]
        .into_iter()
        .filter(|b| results.iter().any(|r| r.backend == *b))
        .collect();
    let mut check = |what: String, value: Option<f64>, holds: fn(f64) -> bool, bound: &str| {
        if let Some(v) = value {
            let verdict = if holds(v) { "ok" } else { "MISSED" };
            out.push(format!("target {what} {bound}: {v:.3} {verdict}"));
        }
    };
    for &b in &backends {
        let be = b.name();
        for w in ["W1-c1", "W1-c16", "W1-c64", "W2", "W4-single", "W4-bulk"] {
            check(
                format!("weir/raw {w} {be}"),
                ratio(results, b, w, "raw"),
                |v| v >= 0.97,
                ">= 0.97",
            );
        }
        for w in ["W1-c16", "W1-c64"] {
            check(
                format!("weir/sqlx {w} {be}"),
                ratio(results, b, w, "sqlx"),
                |v| v >= 1.5,
                ">= 1.50",
            );
        }
        for w in ["W1-c1", "W2", "W3", "W4-single", "W4-bulk"] {
            check(
                format!("weir/sqlx {w} {be}"),
                ratio(results, b, w, "sqlx"),
                |v| v >= 1.0,
                ">= 1.00",
            );
        }
        for w in ["W5-c16", "W5-c64"] {
            // weir ÷ weir-flow: flow control may cost at most 5% of throughput.
            check(
                format!("weir/weir-flow {w} {be} (flow control costs <= 5%)"),
                ratio(results, b, w, "weir-flow"),
                |v| v <= 1.0 / 0.95,
                "<= 1.053",
            );
        }
        check(
            format!("weir/deadpool W3 {be} (checkout cost <= 2x)"),
            ratio(results, b, "W3", "deadpool"),
            |v| v >= 0.5,
            ">= 0.50",
        );
        let rss = results
            .iter()
            .find(|r| r.backend == b && r.workload == "W2" && r.peer == "weir")
            .and_then(|r| r.rss_peak);
        check(
            format!("weir W2 peak RSS MiB {be} (in a fresh process)"),
            rss,
            |v| v < 64.0,
            "< 64",
        );
    }
    out
}

const COLORS: [(&str, &str); 5] = [
    ("weir", "#1f6fd1"),
    ("raw", "#2e9e44"),
    ("raw-reset", "#8fcf7f"),
    ("sqlx", "#e8771a"),
    ("deadpool", "#888888"),
];

fn color(peer: &str) -> &'static str {
    COLORS
        .iter()
        .find(|(p, _)| *p == peer)
        .map_or("#aa3377", |(_, c)| c)
}

/// A y-axis step that gives about five round ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// W1 throughput against concurrency, one line per client, one panel per backend.
pub fn w1_svg(results: &[Result], title_note: &str) -> String {
    const CONC: [usize; 3] = [1, 16, 64];
    let backends: Vec<Backend> = [Backend::Postgres, Backend::MySql]
        .into_iter()
        .filter(|b| {
            results
                .iter()
                .any(|r| r.backend == *b && r.workload.starts_with("W1-"))
        })
        .collect();
    let (pw, ph) = (520.0, 400.0);
    let (ml, mr, mt, mb) = (72.0, 24.0, 56.0, 120.0);
    let width = pw * backends.len().max(1) as f64;
    let height = ph + 24.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        height - 8.0,
        escape(title_note)
    );
    for (i, &b) in backends.iter().enumerate() {
        let x0 = i as f64 * pw;
        let (left, right, top, bottom) = (x0 + ml, x0 + pw - mr, mt, ph - mb);
        let rows: Vec<&Result> = results
            .iter()
            .filter(|r| r.backend == b && r.workload.starts_with("W1-"))
            .collect();
        let mut peers: Vec<(&str, &str)> = Vec::new();
        for r in &rows {
            if !peers.iter().any(|(p, _)| *p == r.peer) {
                peers.push((r.peer, r.label));
            }
        }
        let max = rows.iter().map(|r| r.value).fold(1.0, f64::max);
        let step = nice_step(max * 1.05);
        let ymax = (max * 1.05 / step).ceil() * step;
        let y = |v: f64| bottom - (bottom - top) * v / ymax;
        let x = |k: usize| left + (right - left) * (0.1 + 0.8 * k as f64 / 2.0);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">W1 point select on {}</text><text x="{}" y="40" text-anchor="middle" fill="#555">queries per second (higher is better)</text>"##,
            (left + right) / 2.0,
            b.title(),
            (left + right) / 2.0
        );
        let mut t = 0.0;
        while t <= ymax + step / 2.0 {
            let yy = y(t);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{yy:.1}" x2="{right}" y2="{yy:.1}" stroke="#e3e3e3"/><text x="{}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
                left - 6.0,
                yy + 4.0,
                group(t)
            );
            t += step;
        }
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>"##
        );
        for (k, c) in CONC.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#333">{c}</text>"##,
                x(k),
                bottom + 16.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">concurrent callers (pool of 16)</text>"##,
            (left + right) / 2.0,
            bottom + 32.0
        );
        for (pi, (peer, label)) in peers.iter().enumerate() {
            let pts: Vec<(f64, f64, f64)> = CONC
                .iter()
                .enumerate()
                .filter_map(|(k, c)| {
                    rows.iter()
                        .find(|r| r.peer == *peer && r.workload == format!("W1-c{c}"))
                        .map(|r| (x(k), y(r.value), r.value))
                })
                .collect();
            let col = color(peer);
            let width = if *peer == "weir" { 3.0 } else { 2.0 };
            let path: Vec<String> = pts
                .iter()
                .map(|(a, b, _)| format!("{a:.1},{b:.1}"))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{col}" stroke-width="{width}"/>"#,
                path.join(" ")
            );
            for (a, bb, v) in &pts {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{a:.1}" cy="{bb:.1}" r="4" fill="{col}"><title>{}: {} q/s</title></circle>"#,
                    escape(label),
                    group(*v)
                );
            }
            let ly = bottom + 56.0 + 17.0 * pi as f64;
            let lx = left;
            let _ = writeln!(
                s,
                r##"<line x1="{lx}" y1="{}" x2="{}" y2="{}" stroke="{col}" stroke-width="3"/><text x="{}" y="{}" fill="#222">{}</text>"##,
                ly - 4.0,
                lx + 18.0,
                ly - 4.0,
                lx + 24.0,
                ly,
                escape(label)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
