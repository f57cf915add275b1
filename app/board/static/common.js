// Shared by the board's pages: times shown in the viewer's own time zone.
"use strict";

const SLA = (() => {
  const soonFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  const laterFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  const farFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  const WEEK_MS = 6 * 24 * 3600 * 1000;

  /** "Mon 09:00" within the coming week, "3 Feb, 09:00" further away or in the past. */
  function shortTime(ms, nowMs) {
    const near = ms >= nowMs - 12 * 3600 * 1000 && ms - nowMs < WEEK_MS;
    return (near ? soonFormat : farFormat).format(new Date(ms));
  }

  /** The full date, time and zone name, for tooltips. */
  function fullTime(ms) {
    return fullFormat.format(new Date(ms));
  }

  /** Rewrite every <time data-local datetime="…"> in the viewer's zone. */
  function localizeTimes(root) {
    for (const el of (root || document).querySelectorAll("time[data-local]")) {
      const ms = Date.parse(el.getAttribute("datetime"));
      if (!Number.isNaN(ms)) {
        el.textContent = laterFormat.format(new Date(ms));
        el.title = fullTime(ms);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => localizeTimes());
  return { shortTime, fullTime, localizeTimes };
})();
