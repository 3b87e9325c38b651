//! A member's own view: works, infringements per day per drama, notices, and its webhook.

use std::fmt::Write;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Extension;
use reelguard_service::dashboard::{self, Dashboard};
use reelguard_service::webhooks;
use reelguard_store::webhooks::{Delivery, Webhook};
use reelguard_store::{InfringementDay, WorkRow};
use serde::Deserialize;

use super::matches::truncate;
use super::notices::notices_table;
use super::{Page, DAY};
use crate::auth::AuditNote;
use crate::ui::html::{self, csrf_field, esc, esc_or_dash, utc, utc_date};
use crate::ui::{html_page, CsrfForm, Viewer};
use crate::Shared;

const CHART_DAYS: i64 = 30;

/// Confirmed and pending counts per day over the last [`CHART_DAYS`] days.
struct Series {
    label: String,
    confirmed: Vec<u64>,
    pending: Vec<u64>,
}

impl Series {
    fn new(label: String) -> Series {
        Series {
            label,
            confirmed: vec![0; CHART_DAYS as usize],
            pending: vec![0; CHART_DAYS as usize],
        }
    }

    fn add(&mut self, day: &InfringementDay, first: i64) {
        if let Ok(i) = usize::try_from((day.day - first) / DAY) {
            if i < self.confirmed.len() {
                self.confirmed[i] += day.confirmed;
                self.pending[i] += day.pending;
            }
        }
    }

    fn peak(&self) -> u64 {
        self.confirmed
            .iter()
            .zip(&self.pending)
            .map(|(c, p)| c + p)
            .max()
            .unwrap_or(0)
    }
}

/// Infringements found per day over the last [`CHART_DAYS`] days, confirmed and pending stacked:
/// all dramas together, then one row per drama (each row scaled to its own peak, which it
/// shows, so a drama pirated a little is still visible beside one pirated a lot).
fn infringement_chart(days: &[InfringementDay], works: &[(String, String)], today: i64) -> String {
    const LABEL: f64 = 150.0;
    const W: f64 = 600.0;
    const TOTAL_H: f64 = 100.0;
    const ROW_H: f64 = 34.0;
    let first = today - (CHART_DAYS - 1) * DAY;
    let mut total = Series::new("All dramas".to_string());
    let mut rows: Vec<Series> = works
        .iter()
        .map(|(_, title)| Series::new(title.clone()))
        .collect();
    for d in days {
        total.add(d, first);
        if let Some(i) = works.iter().position(|(id, _)| *id == d.work_id) {
            rows[i].add(d, first);
        }
    }
    let height = 14.0 + TOTAL_H + 8.0 + rows.len() as f64 * (ROW_H + 6.0) + 16.0;
    let mut svg = format!(
        "<svg id=\"infringement-chart\" viewBox=\"0 0 {0} {height}\" width=\"{0}\" \
         height=\"{height}\" role=\"img\" aria-label=\"Infringements found per day and drama, \
         last {CHART_DAYS} days\">",
        LABEL + W
    );
    let bar = W / CHART_DAYS as f64;
    let mut y = 14.0;
    for (series, h) in std::iter::once((&total, TOTAL_H)).chain(rows.iter().map(|r| (r, ROW_H))) {
        let peak = series.peak();
        let scale = h / peak.max(1) as f64;
        let _ = write!(
            svg,
            "<g class=\"drama\"><text class=\"axis\" x=\"0\" y=\"{:.1}\">{}</text>\
             <text class=\"axis\" x=\"0\" y=\"{:.1}\">peak {peak}/day</text>",
            y + h / 2.0,
            esc(&truncate(&series.label, 22)),
            y + h / 2.0 + 12.0,
        );
        for i in 0..CHART_DAYS as usize {
            let x = LABEL + i as f64 * bar + 1.0;
            let hc = scale * series.confirmed[i] as f64;
            let hp = scale * series.pending[i] as f64;
            let day = utc_date(first + i as i64 * DAY);
            let _ = write!(
                svg,
                "<rect class=\"confirmed\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hc:.1}\">\
                 <title>{day}: {} confirmed</title></rect>\
                 <rect class=\"pending\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hp:.1}\">\
                 <title>{day}: {} pending</title></rect>",
                y + h - hc,
                bar - 2.0,
                series.confirmed[i],
                y + h - hc - hp,
                bar - 2.0,
                series.pending[i]
            );
        }
        let _ = write!(
            svg,
            "<line class=\"baseline\" x1=\"{LABEL}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\"/></g>",
            LABEL + W,
            y + h
        );
        y += h + if std::ptr::eq(series, &total) {
            8.0
        } else {
            6.0
        };
    }
    let _ = write!(
        svg,
        "<text class=\"axis\" x=\"{LABEL}\" y=\"{0:.1}\">{1}</text><text class=\"axis end\" \
         x=\"{2}\" y=\"{0:.1}\">{3}</text></svg>",
        y + 10.0,
        utc_date(first),
        LABEL + W,
        utc_date(today),
    );
    svg
}

/// `GET /ui/member`: a member's works, infringements over time, and notices.
pub async fn member(State(state): State<Shared>, viewer: Viewer) -> Page {
    let today = reelguard_store::now().div_euclid(DAY) * DAY;
    let since = today - (CHART_DAYS - 1) * DAY;
    let Dashboard {
        works: views,
        days,
        notices,
        hook,
        deliveries,
    } = dashboard::dashboard(&state, &viewer.caller, since).await?;
    let episodes: Vec<usize> = views
        .iter()
        .map(|v| {
            v.work
                .as_ref()
                .map_or(0, |w| w.episodes.iter().filter(|e| !e.withdrawn).count())
        })
        .collect();
    let works: Vec<WorkRow> = views.into_iter().map(|v| v.row).collect();
    let mut body = format!(
        "<h1>{}: works and infringements</h1><h2>Works</h2><table id=\"works\"><thead><tr>\
         <th>Drama</th><th>Your id</th><th>Episodes registered</th><th>Released</th>\
         <th>Found (30 days)</th><th>Confirmed (30 days)</th><th>State</th></tr></thead><tbody>",
        esc(&viewer.caller.member)
    );
    for (w, count) in works.iter().zip(&episodes) {
        let found: u64 = days
            .iter()
            .filter(|d| d.work_id == w.work_id)
            .map(|d| d.confirmed + d.pending)
            .sum();
        let confirmed: u64 = days
            .iter()
            .filter(|d| d.work_id == w.work_id)
            .map(|d| d.confirmed)
            .sum();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{count}</td><td>{}</td><td>{found}</td>\
             <td>{confirmed}</td><td>{}</td></tr>",
            esc(&w.title),
            esc_or_dash(w.external_id.as_deref()),
            w.released_at.map_or_else(|| "–".to_string(), utc_date),
            if w.withdrawn_at.is_some() {
                "withdrawn"
            } else {
                "active"
            }
        );
    }
    let charted: Vec<(String, String)> = works
        .iter()
        .map(|w| (w.work_id.clone(), w.title.clone()))
        .collect();
    let _ = write!(
        body,
        "</tbody></table><h2>Infringements found per day, by drama</h2><p class=\"legend\">\
         <span class=\"key confirmed\"></span> confirmed <span class=\"key pending\"></span> \
         awaiting review</p>{}<h2>Notices sent</h2>{}",
        infringement_chart(&days, &charted, today),
        notices_table(&notices)
    );
    body.push_str(&webhook_section(&viewer, hook.as_ref(), &deliveries, None));
    Ok(html_page(html::page(&viewer.frame("My works"), &body)))
}

/// The member's webhook: where confirmed infringements are sent, and the delivery log.
fn webhook_section(
    viewer: &Viewer,
    hook: Option<&Webhook>,
    deliveries: &[Delivery],
    new_secret: Option<&str>,
) -> String {
    let mut out = String::from("<h2>Notifications</h2>");
    match hook {
        Some(h) => {
            let _ = write!(
                out,
                "<p>Confirmed infringements are sent, signed (HMAC-SHA256, header \
                 <code>X-Reelguard-Signature</code>), to <code id=\"webhook-url\">{}</code>.</p>",
                esc(&h.url)
            );
        }
        None => out.push_str("<p>No webhook set: notices are only listed here.</p>"),
    }
    if let Some(secret) = new_secret {
        let _ = write!(
            out,
            "<p class=\"secret\">Signing secret (shown once; store it now): \
             <code id=\"webhook-secret\">{}</code></p>",
            esc(secret)
        );
    }
    let _ = write!(
        out,
        "<form id=\"webhook\" method=\"post\" action=\"/ui/member/webhook\">{}\
         <label>Webhook URL <input name=\"url\" type=\"url\" maxlength=\"2000\" required \
         placeholder=\"https://\"></label> <button type=\"submit\">{}</button></form>",
        csrf_field(&viewer.csrf),
        if hook.is_some() {
            "Replace (new secret)"
        } else {
            "Set"
        }
    );
    out.push_str(
        "<table id=\"deliveries\"><thead><tr><th>Delivery</th><th>Notice</th><th>State</th>\
         <th>Attempts</th><th>Last answer</th><th>Queued</th></tr></thead><tbody>",
    );
    for d in deliveries {
        let last = match (d.last_status, d.last_error.as_deref()) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => esc(error).to_string(),
            (None, None) => "–".to_string(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><a href=\"/ui/notices/{}\">{}</a></td><td>{}</td><td>{}/{}</td>\
             <td>{}</td><td>{}</td></tr>",
            d.id,
            d.notice_id,
            d.notice_id,
            d.state.as_str(),
            d.attempts,
            d.max_attempts,
            last,
            utc(d.created_at)
        );
    }
    out.push_str("</tbody></table>");
    out
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
}

/// `POST /ui/member/webhook`: sets the member's webhook and shows its new secret once.
pub async fn set_webhook(
    State(state): State<Shared>,
    CsrfForm(viewer, form): CsrfForm<WebhookForm>,
) -> Page {
    let url = form.url.trim().to_string();
    let (hook, secret) = webhooks::set(&state, &viewer.caller, url).await?;
    let deliveries = webhooks::deliveries(&state, &viewer.caller, Some(20)).await?;
    let body = format!(
        "<h1>Webhook set</h1>{}<p><a href=\"/ui/member\">Back to my works</a></p>",
        webhook_section(&viewer, Some(&hook), &deliveries, Some(&secret))
    );
    Ok((
        Extension(AuditNote("webhook set".into())),
        html_page(html::page(&viewer.frame("Webhook"), &body)),
    )
        .into_response())
}
