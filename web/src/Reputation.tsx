import { useEffect, useState } from 'react';
import { call } from './api.ts';

export interface ReputationView {
  sends: number;
  bounceRate: number;
  complaintRate: number;
  enforcementStatus: 'HEALTHY' | 'PROBATION' | 'SHUTDOWN';
  windowMs: number;
  minSends: number;
  thresholds: { bounceReview: number; bouncePause: number; complaintReview: number; complaintPause: number };
  autoPause: boolean;
}

export const reputation = () => call<ReputationView>('GET', '/reputation');

const STATUS: Record<ReputationView['enforcementStatus'], string> = {
  HEALTHY: 'Healthy',
  PROBATION: 'Under review',
  SHUTDOWN: 'Sending paused',
};

/** A rate as a percentage with enough digits to compare it with its thresholds (0.1 % needs three). */
function percent(rate: number, digits: number): string {
  return `${(rate * 100).toFixed(digits)} %`;
}

/** The account's bounce and complaint rates against SES's review and pause thresholds. */
export function Reputation(props: { onError: (err: Error) => void }) {
  const [r, setR] = useState<ReputationView>();
  const { onError } = props;
  useEffect(() => {
    reputation().then(setR, onError);
  }, [onError]);

  if (!r) return null;
  const days = Math.round(r.windowMs / 86_400_000);
  const rows = [
    { id: 'bounce', label: 'Bounce rate', rate: r.bounceRate, review: r.thresholds.bounceReview, pause: r.thresholds.bouncePause, digits: 2 },
    { id: 'complaint', label: 'Complaint rate', rate: r.complaintRate, review: r.thresholds.complaintReview, pause: r.thresholds.complaintPause, digits: 3 },
  ];
  return (
    <section aria-labelledby="rep-h" className="cards">
      <h2 id="rep-h">Reputation</h2>
      <p>
        Status: <strong data-testid="enforcement-status" className={`status-${r.enforcementStatus.toLowerCase()}`}>{STATUS[r.enforcementStatus]}</strong>
        {' · '}
        {r.sends.toLocaleString('en-US')} recipients in the last {days} days
        {r.sends < r.minSends && ` (fewer than ${r.minSends.toLocaleString('en-US')}: too few for a verdict)`}
      </p>
      <dl>
        {rows.map((x) => (
          <div key={x.id}>
            <dt id={`rep-${x.id}`}>{x.label}</dt>
            <dd data-testid={`${x.id}-rate`}>{percent(x.rate, x.digits)}</dd>
            <dd>
              <meter aria-labelledby={`rep-${x.id}`} min={0} max={x.pause * 1.5} low={x.review} high={x.pause} optimum={0} value={Math.min(x.rate, x.pause * 1.5)}>
                {percent(x.rate, x.digits)}
              </meter>
            </dd>
            <dd className="hint">
              review at {percent(x.review, x.digits - 1)}, {r.autoPause ? 'sending paused' : 'pause threshold'} at {percent(x.pause, x.digits - 1)}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
