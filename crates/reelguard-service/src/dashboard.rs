//! A member's own view: its works with their registered episodes, infringements per day, the
//! notices sent on its behalf and its webhook's deliveries.

use reelguard_store::webhooks::{Delivery, Webhook};
use reelguard_store::{Caller, InfringementDay, Notice};

use crate::error::AppError;
use crate::works::WorkView;
use crate::Service;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// What the member page shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The member's works.
    pub works: Vec<WorkView>,
    /// Matches found per work and day since the start of the chart.
    pub days: Vec<InfringementDay>,
    /// The newest notices (at most 100).
    pub notices: Vec<Notice>,
    /// The webhook, if set.
    pub hook: Option<Webhook>,
    /// The newest deliveries (at most 20).
    pub deliveries: Vec<Delivery>,
}

/// The caller's dashboard with infringements counted from `since` (Unix seconds).
pub async fn dashboard(
    service: &Service,
    caller: &Caller,
    since: i64,
) -> Result<Dashboard, AppError> {
    let me = caller.member_id;
    let (days, notices, hook, deliveries) = service
        .db(move |s| {
            Ok((
                s.infringements_per_day(Some(&[me]), since)?,
                s.notices(Some(&[me]), None, 100)?,
                s.webhook(me)?,
                s.webhook_deliveries(me, None, 20)?,
            ))
        })
        .await?;
    Ok(Dashboard {
        works: crate::works::list(service, caller).await?,
        days,
        notices,
        hook,
        deliveries,
    })
}
