//! `make bench`: peak resident memory and wall time of `anliegen ingest` under hostile
//! mail — a PDF Flate bomb (64 MiB inflated), a DOCX zip bomb and a plain zip bomb
//! (256 MiB each), an ordinary letter for comparison, and the PDF bomb with the inflation
//! caps lifted so that only the parser's memory limit stops it. Each run is a fresh
//! database; the peak covers the ingest process and its parser children.

#[allow(dead_code)]
#[path = "../tests/api/bombs.rs"]
mod bombs;
#[allow(dead_code)]
#[path = "../tests/api/rss.rs"]
mod rss;

use std::time::Instant;

/// Address-space cap of the ingest process, so a regression fails instead of swapping.
const CAP: u64 = 3 << 30;
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn run(name: &str, mail: Vec<u8>, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mail.eml");
    std::fs::write(&file, &mail).unwrap();
    let db = format!("sqlite://{}/anliegen.db", dir.path().display());
    let mut env = env.to_vec();
    env.extend([
        ("ANLIEGEN__DATABASE__URL", db.as_str()),
        ("RUST_LOG", "warn"),
    ]);
    let started = Instant::now();
    let out = rss::run(
        env!("CARGO_BIN_EXE_anliegen"),
        &["ingest".as_ref(), file.as_os_str()],
        &env,
        Some(CAP),
        rss::no_input,
    );
    let secs = started.elapsed().as_secs_f64();
    let summary = out.json();
    println!(
        "{name:<44} {:>7} KiB mail  {:>8.1} MiB peak RSS  {secs:>6.2} s  outcomes {}",
        mail.len() / 1024,
        out.peak_rss_mib,
        summary["outcomes"]
    );
}

fn main() {
    println!("ingest of one mail (peak RSS of ingest and its parser process):");
    let letter = bombs::pdf("Antrag auf Wohngeld", 0);
    run(
        "ordinary letter with a PDF",
        bombs::mail(
            "l@x",
            Some("Wohngeld"),
            "Anbei.",
            &[("a.pdf", "application/pdf", &letter)],
        ),
        &[],
    );
    let pdf = bombs::pdf_bomb(64 << 20);
    let pdf_mail = bombs::mail(
        "p@x",
        Some("Antrag"),
        "Anbei.",
        &[("a.pdf", "application/pdf", &pdf)],
    );
    run("PDF Flate bomb (64 MiB inflated)", pdf_mail.clone(), &[]);
    let docx = bombs::docx("x", 256 << 20);
    run(
        "DOCX zip bomb (256 MiB inflated)",
        bombs::mail("d@x", None, "", &[("a.docx", DOCX, &docx)]),
        &[],
    );
    let zip = bombs::zip_bomb(256 << 20);
    run(
        "zip bomb (256 MiB inflated, not opened)",
        bombs::mail(
            "z@x",
            Some("Archiv"),
            "Anbei.",
            &[("a.zip", "application/zip", &zip)],
        ),
        &[],
    );
    run(
        "PDF bomb, caps lifted, memory_mib = 512",
        pdf_mail,
        &[
            (
                "ANLIEGEN__MAIL__PARSE__MAX_ATTACHMENT_INFLATED_BYTES",
                "1000000000",
            ),
            ("ANLIEGEN__MAIL__PARSE__MAX_INFLATED_BYTES", "1000000000"),
            ("ANLIEGEN__MAIL__PARSE__MEMORY_MIB", "512"),
        ],
    );
}
