import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { activity, type Activity } from './api.ts';

const SERIES: Array<{ type: string; label: string; stroke: string }> = [
  { type: 'Send', label: 'Sends', stroke: '#1b5fd1' },
  { type: 'Delivery', label: 'Deliveries', stroke: '#198754' },
  { type: 'Bounce', label: 'Bounces', stroke: '#a4161a' },
  { type: 'Complaint', label: 'Complaints', stroke: '#b45309' },
  { type: 'Open', label: 'Opens', stroke: '#6d28d9' },
  { type: 'Click', label: 'Clicks', stroke: '#0e7490' },
];

/** Sends, deliveries, bounces, complaints, opens and clicks per hour over the last 24 hours (uPlot), with the totals as a table. */
export function ActivityChart(props: { onError: (err: Error) => void }) {
  const [data, setData] = useState<Activity>();
  const box = useRef<HTMLDivElement>(null);
  const { onError } = props;

  useEffect(() => {
    activity(24).then(setData, onError);
  }, [onError]);

  useEffect(() => {
    if (!data || !box.current) return;
    const el = box.current;
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 220,
        series: [{}, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        axes: [{}, { label: 'events per hour' }],
        scales: { x: { time: true } },
      },
      [data.buckets.map((t) => t / 1000), ...SERIES.map((s) => data.series[s.type] ?? data.buckets.map(() => 0))],
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [data]);

  return (
    <section aria-labelledby="activity-h">
      <h2 id="activity-h">Last 24 hours</h2>
      <div ref={box} className="chart" role="img" aria-label="Events per hour over the last 24 hours" />
      {data && (
        <table className="totals">
          <caption className="sr-only">Totals over the last 24 hours</caption>
          <tbody>
            <tr>
              {SERIES.map((s) => (
                <td key={s.type}>
                  <span className="muted">{s.label}</span>
                  <strong data-testid={`total-${s.type}`}>{(data.series[s.type] ?? []).reduce((a, b) => a + b, 0).toLocaleString('en-US')}</strong>
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
