//! Times evidence-still extraction against the FFmpeg CLI on the same files and timestamps.
//!
//! `cargo run --release -p reelguard-media --example still_bench -- RUNS FILE... -- T...`
//!
//! For every file and timestamp, each round runs `extract_still` (+ `encode_jpeg` at quality
//! 85) and `ffmpeg -ss T -i FILE -frames:v 1 -vf scale=-2:240 out.jpg`, interleaved so both see
//! the same machine load; prints per-pair medians and the overall median ratio.

use std::error::Error;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use reelguard_media::{encode_jpeg, extract_still, Limits};

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args.first().ok_or("usage: RUNS FILE... -- T...")?.parse()?;
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("missing -- before timestamps")?;
    let files: Vec<PathBuf> = args[1..split].iter().map(PathBuf::from).collect();
    let times: Vec<f64> = args[split + 1..]
        .iter()
        .map(|t| t.parse())
        .collect::<Result<_, _>>()?;
    let out = std::env::temp_dir().join(format!("still_bench_{}.jpg", std::process::id()));
    let limits = Limits::default();
    let (mut all_ours, mut all_encoded, mut all_cli, mut ratios) = (vec![], vec![], vec![], vec![]);
    println!("file\tt_s\textract_ms\textract+jpeg_ms\tcli_ms\tcli/ours");
    for file in &files {
        for &t in &times {
            let (mut ours, mut encoded, mut cli) = (vec![], vec![], vec![]);
            for _ in 0..runs {
                let started = Instant::now();
                let still = extract_still(file, t, 240, &limits)?;
                ours.push(started.elapsed().as_secs_f64() * 1e3);
                let jpeg = encode_jpeg(&still, 85)?;
                encoded.push(started.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(jpeg);

                let started = Instant::now();
                let status = Command::new("ffmpeg")
                    .args(["-hide_banner", "-loglevel", "error", "-y", "-ss"])
                    .arg(t.to_string())
                    .arg("-i")
                    .arg(file)
                    .args(["-frames:v", "1", "-vf", "scale=-2:240"])
                    .arg(&out)
                    .status()?;
                cli.push(started.elapsed().as_secs_f64() * 1e3);
                if !status.success() {
                    return Err(format!("ffmpeg failed on {} at {t}", file.display()).into());
                }
            }
            let (o, e, c) = (median(&mut ours), median(&mut encoded), median(&mut cli));
            println!(
                "{}\t{t}\t{o:.1}\t{e:.1}\t{c:.1}\t{:.2}",
                file.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                c / e
            );
            all_ours.push(o);
            all_encoded.push(e);
            all_cli.push(c);
            ratios.push(c / e);
        }
    }
    let _ = std::fs::remove_file(&out);
    println!(
        "median over pairs: extract {:.1} ms, extract+jpeg {:.1} ms, cli {:.1} ms, cli/ours {:.2}",
        median(&mut all_ours),
        median(&mut all_encoded),
        median(&mut all_cli),
        median(&mut ratios)
    );
    Ok(())
}
