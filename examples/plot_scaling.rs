//! Draws the scaling benches' curves, zeroring against libzmq (and
//! iceoryx2 for ipc), as SVG files for README, from the medians criterion
//! left in `target/criterion/` and the table `benches/ipc-compare` wrote:
//!
//! ```sh
//! cargo bench --bench patterns -- pub_fanout
//! cargo bench --bench scaling
//! (cd benches/ipc-compare && cargo run --release -- --csv ../../target/ipc-compare.csv)
//! cargo run --release --example plot_scaling   # writes docs/plots/*.svg
//! ```
//!
//! Fan-out and fair-queue are drawn as messages per second (each sample
//! delivers a fixed number of messages), `poll` as the time of one call,
//! ipc as one-way latency and messages per second by message size; all
//! axes logarithmic. A missing run is skipped with a note.

use plotters::prelude::*;
use std::path::Path;

/// One chart: a criterion group, its parameters, and how a median (ns per
/// iteration) becomes the value drawn.
struct Chart {
    group: &'static str,
    params: &'static [u32],
    title: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    value: fn(f64) -> f64,
}

const CHARTS: [Chart; 3] = [
    Chart {
        group: "pub_fanout",
        params: &[1, 4, 16, 64],
        title: "PUB fan-out, 32 B, inproc",
        x_label: "subscribers",
        y_label: "deliveries [M/s]",
        // 800,000 deliveries an iteration (benches/patterns.rs).
        value: |ns| 800_000.0 / ns * 1e3,
    },
    Chart {
        group: "fair_queue",
        params: &[1, 16, 256],
        title: "PULL fair-queuing N PUSH peers, 32 B, inproc",
        x_label: "PUSH peers",
        y_label: "messages [M/s]",
        // 200,000 messages an iteration (benches/scaling.rs).
        value: |ns| 200_000.0 / ns * 1e3,
    },
    Chart {
        group: "poll",
        params: &[1, 100, 1000],
        title: "poll over N sockets, one readable",
        x_label: "sockets",
        y_label: "one call [us]",
        value: |ns| ns / 1e3,
    },
];

/// One library's curve: its name, colour and points.
type Series = (&'static str, RGBColor, Vec<(f64, f64)>);

/// The median of `target/criterion/<group>/<lib>/<param>`, in ns.
fn median(group: &str, lib: &str, param: u32) -> Option<f64> {
    let path = format!("target/criterion/{group}/{lib}/{param}/new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn draw(chart: &Chart, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let series: Vec<Series> = [("zeroring", RED), ("libzmq", BLUE)]
        .into_iter()
        .map(|(lib, color)| {
            let points = chart
                .params
                .iter()
                .filter_map(|&p| Some((p as f64, (chart.value)(median(chart.group, lib, p)?))))
                .collect();
            (lib, color, points)
        })
        .collect();
    if series.iter().any(|(_, _, p)| p.len() != chart.params.len()) {
        return Err(format!("no complete run of `{}` in target/criterion", chart.group).into());
    }
    plot(out, chart.title, chart.x_label, chart.y_label, series)
}

/// One chart of `series`, both axes logarithmic, into `out`.
fn plot(
    out: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: Vec<Series>,
) -> Result<(), Box<dyn std::error::Error>> {
    let points = || series.iter().flat_map(|(_, _, p)| p.iter().copied());
    let span = |v: &mut dyn Iterator<Item = f64>| {
        v.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)))
    };
    let (x_lo, x_hi) = span(&mut points().map(|(x, _)| x));
    let (lo, hi) = span(&mut points().map(|(_, y)| y));
    let root = SVGBackend::new(out, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (x_lo * 0.8..x_hi * 1.25).log_scale(),
            (lo / 2.0..hi * 2.0).log_scale(),
        )?;
    ctx.configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()?;
    for (lib, color, points) in series {
        ctx.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(lib)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        ctx.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )?;
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// `benches/ipc-compare`'s `--csv` table: latency and throughput series.
fn ipc_series(csv: &str) -> Result<[Vec<Series>; 2], Box<dyn std::error::Error>> {
    let libs = [("zeroring", RED), ("libzmq", BLUE), ("iceoryx2", GREEN)];
    let mut lat: Vec<Series> = libs.iter().map(|&(l, c)| (l, c, vec![])).collect();
    let mut thr = lat.clone();
    for line in std::fs::read_to_string(csv)?.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [size, lib, us, rate] = f[..] else {
            return Err(format!("bad line {line:?}").into());
        };
        let Some(i) = libs.iter().position(|&(l, _)| l == lib) else {
            continue;
        };
        let size: f64 = size.parse()?;
        lat[i].2.push((size, us.parse()?));
        thr[i].2.push((size, rate.parse::<f64>()? / 1e6));
    }
    Ok([lat, thr])
}

fn main() {
    let dir = Path::new("docs/plots");
    std::fs::create_dir_all(dir).expect("docs/plots");
    let done = |out: &Path, r: Result<(), Box<dyn std::error::Error>>| match r {
        Ok(()) => println!("wrote {}", out.display()),
        Err(e) => eprintln!("skipped {}: {e}", out.display()),
    };
    for chart in &CHARTS {
        let out = dir.join(format!("{}.svg", chart.group));
        done(&out, draw(chart, &out));
    }
    match ipc_series("target/ipc-compare.csv") {
        Ok([lat, thr]) => {
            let x = "message size [B]";
            let out = dir.join("ipc_latency.svg");
            let title = "ipc one-way latency, two processes, busy-spin";
            done(&out, plot(&out, title, x, "latency [us]", lat));
            let out = dir.join("ipc_throughput.svg");
            let title = "ipc throughput, two processes";
            done(&out, plot(&out, title, x, "messages [M/s]", thr));
        }
        Err(e) => eprintln!("skipped the ipc plots (target/ipc-compare.csv): {e}"),
    }
}
