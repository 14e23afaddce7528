"""The help people see for `/delegate help` and `/tasks help`."""

from __future__ import annotations

__all__ = ["DELEGATE_HELP", "DM_HELP", "MENTION_HELP", "TASKS_HELP"]

MENTION_HELP = """Mention me with a task, as you would type it after `/delegate`: \
`@Handoff @ana send the W-9 by Friday`. In a thread, the task is about the thread's first message and \
its card joins the thread. `/delegate help` has the whole grammar."""

DM_HELP = """*Here in our DM* you can:
• delegate, as with `/delegate`: `@ana Reconcile October invoices by Friday 5pm !high #bookkeeping` \
(nobody named: the task goes to the pool)
• ask what `/tasks` answers: `tasks`, `delegated`, `open`, `overdue`, `today`, `T-42`, `done T-42`, `@ana`, `#payroll`
`/delegate help` and `/tasks help` have everything."""

DELEGATE_HELP = """*Delegate a task with `/delegate`* (or type `/delegate` alone for a form)
• `/delegate @ana Reconcile October invoices by Friday 5pm` — a task for Ana, due Friday 17:00 your time
• `/delegate @ana Send the payroll report tomorrow !high #payroll` — with a priority and a tag
• `/delegate Check the shared inbox by EOD` — nobody named: the task waits in the pool to be claimed
*Due dates* at the end, read in your time zone (`by` is optional): `Friday 5pm`, `tomorrow at 9`, \
`noon tomorrow`, `Monday morning`, `tonight`, `EOD`, `EOW`, `next week`, `end of month`, `in 3 days`, \
`in 2 hours`, `by Dec 5`, `by 24/12` (day or month first as your Slack language writes it), `by 2026-12-05 14:00`
*Priority*: `!low`, `!high`, `!urgent` (normal when left out) · *Tags*: `#bookkeeping`
*Recurring*: `/delegate @ana Send the payroll report every Monday 9am` (also `every weekday`, \
`every month on the 1st`, `every 2 weeks on Friday`): each one appears a day before it is due
The card appears in this channel (pool tasks go to the pool channel) with buttons for the next steps. \
*From a message*: its ⋯ menu → *Delegate this message*; from anywhere, ⚡ → *New task*. \
See `/tasks help` for finding and moving tasks."""

TASKS_HELP = """*Find tasks with `/tasks`* (only you see the answers)
• `/tasks` — your open tasks · `/tasks delegated` — what you asked others for
• `/tasks open` — the pool, waiting to be claimed · `/tasks overdue` — everything late
• `/tasks today` — due today, not yet late · `/tasks blocked` — everything blocked
• `/tasks @ana` — Ana's open tasks · `/tasks #payroll` — by tag · `/tasks T-42` — one task and its history
*Move a task*
• `/tasks claim T-42` · `/tasks start T-42` · `/tasks done T-42 sent to the client` (the note reaches the requester)
• `/tasks block T-42 waiting for the bank statement` · `/tasks unblock T-42` · `/tasks release T-42`
• `/tasks reopen T-42` · `/tasks cancel T-42 [reason]` (requester or manager)
• `/tasks assign T-42 @ben` (requester or manager) · `/tasks due T-42 Monday 10am` (or `none`)
• `/tasks edit T-42` — change its title, details, due date, priority and tags (requester or manager)
*Reminders and digests*
• `/tasks snooze T-42 2h` or `/tasks snooze T-42 until tomorrow 9am` — hold reminders; the due date stays
• `/tasks recurring` — list recurring tasks · `/tasks recurring pause|resume|stop R-3`
• `/tasks digest here at 9:00` — a daily digest in this channel on working days · `/tasks digest off` (managers)
• `/tasks hours 8:00-16:00 mon-fri` — your working hours · `/tasks morning on` — a DM with your day's queue
• `/tasks notify all|needed|summary` — which DMs you get · `/tasks quiet on|off` — DMs wait for your hours
• `/tasks mute T-42` · `/tasks unmute T-42` — as requester, hear nothing more of one task
*Roles*
• `/tasks managers` — who the admins and managers are, and the history · `/tasks managers add|remove @mia` (admins)
• `/tasks team` — the roster: skills, office, hours, load · (managers) `/tasks team add @ana assistant \
skills:payroll office:back capacity:8`, `team skills @ana +inbox`, `team capacity @ana 10`, `team remove @ana`
• `/tasks away until Friday dentist` or `for 3 days` · `/tasks back` — and for someone else (managers)
• `/tasks source-replies on|off` — whether a message made into a task hears, in its thread, of it (managers)
• `/tasks intake here` — every new message in this channel becomes a task · `/tasks intake off` (managers)
*From messages*: ⋯ → *Delegate this message*; `@Handoff @ana …` in a channel or thread; 🎫 on any message
*On the card*: ✋ claims an unclaimed task (remove it to give it back before you start), 👀 starts it, \
✅ finishes it; the buttons and the ⋯ menu do the rest, and 🔎 *Details* shows it all, comments too."""
