//! Files the desktop saves for people: CSV exports, chart pictures and printable tickets.
//!
//! They go into one exports folder (the user's Downloads folder + `Admit`, or
//! `ADMIT_EXPORT_DIR`) under names that say what they hold and when they were made, e.g.
//! `spring-gala-orders-2026-05-01_193012.csv`. A file is written to a hidden temporary file in
//! the same folder and only takes its name once complete, so a failed export leaves nothing
//! behind and a reader never sees half a file. An existing file is never replaced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};
use tauri::{AppHandle, Manager, Runtime};
use tempfile::NamedTempFile;

use crate::state::{fail, CmdResult};
use crate::views::SavedFile;

/// Set to save exports somewhere other than Downloads/Admit (tests, managed desktops).
pub const EXPORT_DIR_ENV: &str = "ADMIT_EXPORT_DIR";

/// Longest event part of a file name, in characters.
const MAX_SLUG: usize = 40;

/// The exports folder, created when missing.
pub fn export_dir<R: Runtime>(app: &AppHandle<R>) -> CmdResult<PathBuf> {
    let dir = match std::env::var_os(EXPORT_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => app
            .path()
            .download_dir()
            .map_err(|e| {
                fail(
                    "internal",
                    format!("this computer has no Downloads folder ({e}); set {EXPORT_DIR_ENV}"),
                )
            })?
            .join("Admit"),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        fail(
            "internal",
            format!("could not create the exports folder {}: {e}", dir.display()),
        )
    })?;
    Ok(dir)
}

/// An event name as part of a file name: lower case letters and digits joined by dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= MAX_SLUG {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "event".to_string()
    } else {
        out.to_string()
    }
}

/// `<event>-<kind>-<local date>_<time>[-n].<ext>`; `n` counts from 2 when the name is taken.
pub fn file_name(event: &str, kind: &str, at: DateTime<Local>, n: u32, ext: &str) -> String {
    let stamp = at.format("%Y-%m-%d_%H%M%S");
    let kind = slug(kind);
    if n <= 1 {
        format!("{}-{kind}-{stamp}.{ext}", slug(event))
    } else {
        format!("{}-{kind}-{stamp}-{n}.{ext}", slug(event))
    }
}

fn io_error(dir: &Path, e: impl std::fmt::Display) -> admit_api::ErrorBody {
    fail(
        "internal",
        format!("could not save the file in {}: {e}", dir.display()),
    )
}

/// A file being written in the exports folder; it disappears unless [`PendingFile::finish`]
/// names it.
pub struct PendingFile {
    dir: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl PendingFile {
    pub fn new(dir: &Path) -> CmdResult<Self> {
        let tmp = tempfile::Builder::new()
            .prefix(".admit-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| io_error(dir, e))?;
        Ok(PendingFile {
            dir: dir.to_path_buf(),
            out: BufWriter::new(tmp),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<NamedTempFile> {
        &mut self.out
    }

    /// Flush to disk and give the file its name: `event`, `kind` and the local time, with a
    /// counter when a file of that name exists already.
    pub fn finish(self, event: &str, kind: &str, ext: &str) -> CmdResult<SavedFile> {
        let dir = self.dir;
        let mut tmp = self
            .out
            .into_inner()
            .map_err(|e| io_error(&dir, e.error()))?;
        tmp.flush().map_err(|e| io_error(&dir, e))?;
        let file: &File = tmp.as_file();
        file.sync_all().map_err(|e| io_error(&dir, e))?;
        let bytes = file.metadata().map_err(|e| io_error(&dir, e))?.len();
        let now = Local::now();
        for n in 1..=1000 {
            let path = dir.join(file_name(event, kind, now, n, ext));
            match tmp.persist_noclobber(&path) {
                Ok(_) => {
                    return Ok(SavedFile {
                        path: path.display().to_string(),
                        bytes,
                        rows: None,
                    })
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
                Err(e) => return Err(io_error(&dir, e.error)),
            }
        }
        Err(io_error(&dir, "too many files of the same name"))
    }
}

/// Save `bytes` as one file.
pub fn save_bytes(
    dir: &Path,
    event: &str,
    kind: &str,
    ext: &str,
    bytes: &[u8],
) -> CmdResult<SavedFile> {
    let mut pending = PendingFile::new(dir)?;
    pending
        .writer()
        .write_all(bytes)
        .map_err(|e| io_error(dir, e))?;
    pending.finish(event, kind, ext)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn names_say_what_and_when() {
        let at = Local.with_ymd_and_hms(2026, 5, 1, 19, 30, 12).unwrap();
        assert_eq!(
            file_name("Spring Gala: 2026!", "orders", at, 1, "csv"),
            "spring-gala-2026-orders-2026-05-01_193012.csv"
        );
        assert_eq!(
            file_name("Spring Gala", "orders", at, 3, "csv"),
            "spring-gala-orders-2026-05-01_193012-3.csv"
        );
        assert_eq!(slug("Zoë's «Fête» / Nacht"), "zoë-s-fête-nacht");
        assert_eq!(slug("../../etc"), "etc", "no path separators survive");
        assert_eq!(slug("!!!"), "event");
        assert!(slug(&"x".repeat(500)).chars().count() <= MAX_SLUG);
    }

    #[test]
    fn a_file_appears_only_when_finished_and_never_replaces_another() {
        let dir = tempfile::tempdir().unwrap();
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        {
            let mut abandoned = PendingFile::new(dir.path()).unwrap();
            abandoned.writer().write_all(b"half").unwrap();
        }
        assert!(
            names().is_empty(),
            "an abandoned file is removed: {:?}",
            names()
        );

        let a = save_bytes(dir.path(), "Gala", "orders", "csv", b"first").unwrap();
        let b = save_bytes(dir.path(), "Gala", "orders", "csv", b"second!").unwrap();
        assert_ne!(a.path, b.path);
        assert_eq!(std::fs::read(&a.path).unwrap(), b"first");
        assert_eq!(std::fs::read(&b.path).unwrap(), b"second!");
        assert_eq!((a.bytes, b.bytes), (5, 7));
        assert_eq!(names().len(), 2, "{:?}", names());
        assert!(names().iter().all(|n| !n.ends_with(".part")));
    }
}
