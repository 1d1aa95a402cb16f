//! The report in a real browser: Debian's chromium (installed by scripts/install-browser.sh)
//! renders report.html headless; the screenshot must show the map's territory colours and
//! the DOM must hold the map, the balance bars and the quota table.

use std::collections::HashSet;
use std::process::Command;

use crate::util::{bin, generate, plan};

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

#[test]
fn report_renders_in_a_real_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have a browser: run scripts/install-browser.sh"
        );
        eprintln!("skipped: no chromium (scripts/install-browser.sh installs it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 2000, 12, 4);
    let text = std::fs::read_to_string(&scenario).unwrap() + "\n[quota]\ntarget = 50000000\n";
    std::fs::write(&scenario, text).unwrap();
    let out = plan(tmp.path(), "out", &scenario, &[]);
    let html = out.join("report.html");
    let url = format!("file://{}", html.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
    ];

    let dom = Command::new(&browser)
        .args(flags)
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("class=\"map\""), "no map in the rendered DOM");
    assert!(
        dom.matches("<circle").count() > 100,
        "the map draws postal codes"
    );
    assert_eq!(
        dom.matches("class=\"bars\"").count(),
        3,
        "one balance chart per metric"
    );
    assert!(dom.contains("<h2>Quotas</h2>"));

    let shot = tmp.path().join("shot.png");
    let status = Command::new(&browser)
        .args(flags)
        .args([
            "--window-size=1280,1400",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .status()
        .expect("chromium runs");
    assert!(status.success());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: HashSet<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    assert!(
        pixels.len() > 200,
        "the screenshot is nearly blank ({} colours)",
        pixels.len()
    );
    // The territory colours of the map, as the report assigns them.
    let found = (0..12)
        .filter(|&t| {
            let c = terraplan::report::svg::colour(t);
            let rgb = [
                u8::from_str_radix(&c[1..3], 16).unwrap(),
                u8::from_str_radix(&c[3..5], 16).unwrap(),
                u8::from_str_radix(&c[5..7], 16).unwrap(),
            ];
            pixels.contains(&rgb)
        })
        .count();
    assert!(
        found >= 10,
        "only {found} of 12 territory colours are on screen"
    );
    // The bundle's check still holds after rendering (nothing was written by the browser).
    bin().arg("check").arg(&out).assert().success();
}
