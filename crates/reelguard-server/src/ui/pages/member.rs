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

use super::notices::notices_table;
use super::{code_text, Page, DAY};
use crate::auth::AuditNote;
use crate::ui::html::{self, csrf_field, esc, esc_or_dash, t, tf, utc, utc_date, Arg, Lang};
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
///
/// Each row's label is HTML beside its bars, not SVG text, so a long Chinese title wraps
/// instead of being cut to a fixed number of characters.
fn infringement_chart(
    lang: Lang,
    days: &[InfringementDay],
    works: &[(String, String)],
    today: i64,
) -> String {
    const W: f64 = 600.0;
    const TOTAL_H: f64 = 100.0;
    const ROW_H: f64 = 34.0;
    let first = today - (CHART_DAYS - 1) * DAY;
    let mut total = Series::new(lang.text("chart.all").to_string());
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
    let mut out = format!(
        "<div id=\"infringement-chart\" class=\"chart\" role=\"img\" aria-label=\"{}\">",
        tf(
            lang,
            "chart.aria",
            &[("days", CHART_DAYS.to_string().into())]
        )
    );
    let bar = W / CHART_DAYS as f64;
    for (series, h) in std::iter::once((&total, TOTAL_H)).chain(rows.iter().map(|r| (r, ROW_H))) {
        let peak = series.peak();
        let scale = h / peak.max(1) as f64;
        let _ = write!(
            out,
            "<div class=\"chart-label drama-label\">{}<span class=\"peak\">{}</span></div>\
             <svg class=\"drama\" viewBox=\"0 0 {W} {h}\" preserveAspectRatio=\"xMinYMid meet\">",
            esc(&series.label),
            tf(lang, "chart.peak", &[("n", peak.into())]),
        );
        for i in 0..CHART_DAYS as usize {
            let x = i as f64 * bar + 1.0;
            let hc = scale * series.confirmed[i] as f64;
            let hp = scale * series.pending[i] as f64;
            let day = utc_date(first + i as i64 * DAY);
            let _ = write!(
                out,
                "<rect class=\"confirmed\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hc:.1}\">\
                 <title>{}</title></rect>\
                 <rect class=\"pending\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hp:.1}\">\
                 <title>{}</title></rect>",
                h - hc,
                bar - 2.0,
                tf(
                    lang,
                    "chart.day_confirmed",
                    &[("day", (&day).into()), ("n", series.confirmed[i].into())]
                ),
                h - hc - hp,
                bar - 2.0,
                tf(
                    lang,
                    "chart.day_pending",
                    &[("day", (&day).into()), ("n", series.pending[i].into())]
                ),
            );
        }
        let _ = write!(
            out,
            "<line class=\"baseline\" x1=\"0\" x2=\"{W}\" y1=\"{h:.1}\" y2=\"{h:.1}\"/></svg>"
        );
    }
    let _ = write!(
        out,
        "<div class=\"chart-label\"></div><div class=\"chart-dates\"><span>{}</span><span>{}</span></div></div>",
        utc_date(first),
        utc_date(today),
    );
    out
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
    let lang = viewer.lang;
    let mut body = format!(
        "<h1>{}</h1><h2>{}</h2><table id=\"works\"><thead><tr>",
        tf(
            lang,
            "member.heading",
            &[("member", (&viewer.caller.member).into())]
        ),
        t(lang, "member.works")
    );
    for col in [
        "col.drama",
        "member.your_id",
        "member.episodes",
        "col.released",
        "member.found30",
        "member.confirmed30",
        "col.state",
    ] {
        let _ = write!(body, "<th>{}</th>", t(lang, col));
    }
    body.push_str("</tr></thead><tbody>");
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
            "<tr><td class=\"title\">{}</td><td>{}</td><td>{count}</td><td>{}</td><td>{found}</td>\
             <td>{confirmed}</td><td>{}</td></tr>",
            esc(&w.title),
            esc_or_dash(w.external_id.as_deref()),
            w.released_at.map_or_else(|| "–".to_string(), utc_date),
            t(
                lang,
                if w.withdrawn_at.is_some() {
                    "work.withdrawn"
                } else {
                    "work.active"
                }
            )
        );
    }
    let charted: Vec<(String, String)> = works
        .iter()
        .map(|w| (w.work_id.clone(), w.title.clone()))
        .collect();
    let _ = write!(
        body,
        "</tbody></table><h2>{}</h2><p class=\"legend\">\
         <span class=\"key confirmed\"></span> {} <span class=\"key pending\"></span> \
         {}</p>{}<h2>{}</h2>{}",
        t(lang, "member.chart"),
        t(lang, "chart.confirmed"),
        t(lang, "chart.pending"),
        infringement_chart(lang, &days, &charted, today),
        t(lang, "member.notices"),
        notices_table(lang, &notices)
    );
    body.push_str(&webhook_section(&viewer, hook.as_ref(), &deliveries, None));
    Ok(html_page(html::page(
        &viewer.frame(lang.text("member.title")),
        &body,
    )))
}

/// The member's webhook: where confirmed infringements are sent, and the delivery log.
fn webhook_section(
    viewer: &Viewer,
    hook: Option<&Webhook>,
    deliveries: &[Delivery],
    new_secret: Option<&str>,
) -> String {
    let lang = viewer.lang;
    let mut out = format!("<h2>{}</h2>", t(lang, "hook.title"));
    match hook {
        Some(h) => {
            let header = "<code>X-Reelguard-Signature</code>";
            let url = format!("<code id=\"webhook-url\">{}</code>", esc(&h.url));
            let _ = write!(
                out,
                "<p>{}</p>",
                tf(
                    lang,
                    "hook.set",
                    &[("header", Arg::Html(header)), ("url", Arg::Html(&url))]
                )
            );
        }
        None => {
            let _ = write!(out, "<p>{}</p>", t(lang, "hook.none"));
        }
    }
    if let Some(secret) = new_secret {
        let code = format!("<code id=\"webhook-secret\">{}</code>", esc(secret));
        let _ = write!(
            out,
            "<p class=\"secret\">{}</p>",
            tf(lang, "hook.secret", &[("secret", Arg::Html(&code))])
        );
    }
    let _ = write!(
        out,
        "<form id=\"webhook\" method=\"post\" action=\"/ui/member/webhook\">{}\
         <label>{} <input name=\"url\" type=\"url\" maxlength=\"2000\" required \
         placeholder=\"https://\"></label> <button type=\"submit\">{}</button></form>",
        csrf_field(&viewer.csrf),
        t(lang, "hook.url"),
        t(
            lang,
            if hook.is_some() {
                "hook.replace"
            } else {
                "hook.set_button"
            }
        )
    );
    out.push_str("<table id=\"deliveries\"><thead><tr>");
    for col in [
        "hook.delivery",
        "col.notice",
        "col.state",
        "hook.attempts",
        "hook.last_answer",
        "hook.queued",
    ] {
        let _ = write!(out, "<th>{}</th>", t(lang, col));
    }
    out.push_str("</tr></thead><tbody>");
    for d in deliveries {
        let last = match (d.last_status, d.last_error.as_deref()) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => format!("<span lang=\"en\">{}</span>", esc(error)),
            (None, None) => "–".to_string(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><a href=\"/ui/notices/{}\">{}</a></td><td data-state=\"{}\">{}</td><td>{}/{}</td>\
             <td>{}</td><td>{}</td></tr>",
            d.id,
            d.notice_id,
            d.notice_id,
            d.state.as_str(),
            esc(code_text(lang, "delivery", d.state.as_str())),
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
    let deliveries = webhooks::deliveries(&state, &viewer.caller, None, Some(20)).await?;
    let lang = viewer.lang;
    let body = format!(
        "<h1>{}</h1>{}<p><a href=\"/ui/member\">{}</a></p>",
        t(lang, "hook.done"),
        webhook_section(&viewer, Some(&hook), &deliveries, Some(&secret)),
        t(lang, "hook.back")
    );
    Ok((
        Extension(AuditNote("webhook set".into())),
        html_page(html::page(
            &viewer.frame(lang.text("hook.page_title")),
            &body,
        )),
    )
        .into_response())
}
