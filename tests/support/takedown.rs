//! What the takedown tests share: a daemon that sends notices as the alliance (an agent), the
//! papers a notice needs (the rights holder's profile, the work's proof of rights, a valid
//! authorisation), and a two-segment compilation made with the ffmpeg CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{json, Value};

use super::{call, street, url_encode, Site};

/// The agent the alliance's daemon sends as.
pub const AGENT: &str = "短剧版权联盟";

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A site whose daemon sends notices as the alliance.
pub fn alliance_site() -> Site {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("reelguard.toml");
    std::fs::write(
        &config,
        format!(
            "notice_agent_name = \"{AGENT}\"\nnotice_agent_contact = \"王芳\"\n\
             notice_agent_phone = \"+86 10 8000 0000\"\nnotice_agent_email = \"notices@alliance.example\"\n\
             notice_agent_address = \"北京市海淀区中关村大街 1 号\"\n"
        ),
    )
    .expect("config");
    let arg = config.to_str().expect("utf-8").to_string();
    Site::start_in(tmp, &["--config", &arg])
}

/// A paper (certificate, authorisation) as the API takes it.
pub fn paper(name: &str, bytes: &[u8]) -> Value {
    json!({"name": name, "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

/// Who the papers are for.
pub struct Papers<'a> {
    /// The site.
    pub site: &'a Site,
    /// The rights holder's member name.
    pub member: &'a str,
    /// Its member key.
    pub member_key: &'a str,
    /// The work.
    pub work_id: &'a str,
}

impl Papers<'_> {
    /// Records everything a notice needs: profile, rights, a valid authorisation.
    pub fn complete(&self) {
        let daemon = &self.site.daemon;
        let url = daemon.url(&format!("/v1/members/{}", url_encode(self.member)));
        let profile = json!({
            "registration_id": "91110105MA01XYZ12K",
            "contact": "李明",
            "phone": "+86 10 6500 0000",
            "email": "legal@xinghe.example",
            "address": "北京市朝阳区建国路 1 号",
        });
        let r = call("PATCH", &url, Some(&self.site.admin), Some(&profile));
        assert_eq!(r.status, 200, "{}", r.text);
        let rights = json!({
            "registration_number": "国作登字-2026-I-00012345",
            "certificate": paper("证书.pdf", b"%PDF-1.4 certificate"),
        });
        let r = call(
            "PUT",
            &daemon.url(&format!("/v1/works/{}/rights", self.work_id)),
            Some(self.member_key),
            Some(&rights),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let now = now();
        let auth = json!({
            "scope": "信息网络传播权维权，发送删除通知",
            "valid_from": now - 86_400,
            "valid_until": now + 365 * 86_400,
            "file": paper("授权书.pdf", b"%PDF-1.4 authorisation"),
        });
        let r = call(
            "PUT",
            &daemon.url(&format!("/v1/works/{}/authorisation", self.work_id)),
            Some(self.member_key),
            Some(&auth),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// A compilation made with the ffmpeg CLI: episode 1's first 7 s, 6 s of unrelated footage,
/// then episode 1 from 10 s to 18 s — one match with two segments.
pub fn two_segment_copy(dir: &Path) -> PathBuf {
    let out = dir.join("two-segments.mp4");
    let unrelated = super::fixtures().join("unrelated/mahjongg_game.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(street(1))
        .arg("-i")
        .arg(&unrelated)
        .args([
            "-filter_complex",
            "[0:v]split[x][y];\
             [x]trim=0:7,setpts=PTS-STARTPTS,fps=25,format=yuv420p[a];\
             [1:v]scale=720:1280,setsar=1,trim=0:6,setpts=PTS-STARTPTS,fps=25,format=yuv420p[b];\
             [y]trim=10:18,setpts=PTS-STARTPTS,fps=25,format=yuv420p[c];\
             [a][b][c]concat=n=3:v=1:a=0[v]",
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg: {status}");
    out
}
