// A small bar chart of run durations, oldest left, coloured by state (failures stand out).

import { useNavigate } from "react-router";
import type { Run } from "../api/types";
import { durationMs, formatDuration, formatTime } from "../util/format";

const WIDTH = 640;
const HEIGHT = 120;

export function RunChart({ runs }: { runs: Run[] }) {
  const navigate = useNavigate();
  const ordered = runs.slice().reverse();
  const durations = ordered.map((r) => durationMs(r.startedAt, r.endedAt));
  const longest = Math.max(1, ...durations.map((d) => d ?? 0));
  const step = WIDTH / Math.max(ordered.length, 1);
  const bar = Math.max(2, Math.min(24, step - 2));
  return (
    <figure className="run-chart-figure">
    <svg
      className="run-chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT + 4}`}
      role="img"
      aria-label={`durations of the last ${ordered.length} runs`}
    >
      <line x1={0} x2={WIDTH} y1={HEIGHT} y2={HEIGHT} className="axis" />
      {ordered.map((run, i) => {
        const ms = durations[i] ?? null;
        const height = ms === null ? 4 : Math.max(3, (ms / longest) * (HEIGHT - 6));
        return (
          <rect
            key={run.runId}
            x={i * step + (step - bar) / 2}
            y={HEIGHT - height}
            width={bar}
            height={height}
            className={`bar state-${(run.state ?? "unknown").toLowerCase()}`}
            onClick={() => navigate(`/run/${run.runId}`)}
          >
            <title>
              {`${run.state ?? "?"} · ${formatTime(run.startedAt)} · ${formatDuration(ms)}`}
            </title>
          </rect>
        );
      })}
    </svg>
      <figcaption className="muted">
        Duration of each run, oldest left (longest: {formatDuration(longest)}); failed runs in red. Click a bar to open
        its run.
      </figcaption>
    </figure>
  );
}
