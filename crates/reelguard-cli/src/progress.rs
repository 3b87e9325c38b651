//! A progress bar on stderr in seconds of video, drawn only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reelguard_media::Progress;

/// Progress over a batch of files, measured in seconds of video decoded.
pub struct VideoProgress {
    bar: ProgressBar,
}

impl VideoProgress {
    pub fn new(label: &str) -> Self {
        // indicatif hides a stderr target that is not a terminal, so pipes stay clean.
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} s of video ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        VideoProgress { bar }
    }

    pub fn report(&self, progress: Progress) {
        match progress {
            Progress::Opened { duration_s } => self.bar.inc_length(duration_s.ceil() as u64),
            Progress::Decoded { seconds } => self.bar.inc(seconds.round() as u64),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
