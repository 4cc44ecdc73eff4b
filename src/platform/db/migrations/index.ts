import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_wecom.js';
import * as m0003 from './0003_customer360.js';
import * as m0004 from './0004_compliance.js';
import * as m0005 from './0005_outbox.js';
import * as m0009 from './0009_segment_speed.js';
import * as m0010 from './0010_sop.js';
import * as m0011 from './0011_outbox_dispatch.js';
import * as m0013 from './0013_kb.js';
import * as m0014 from './0014_assistant.js';
import * as m0015 from './0015_replies.js';
import * as m0016 from './0016_realtime.js';
import * as m0017 from './0017_outbox_group_claim.js';
import * as m0018 from './0018_churn_band_on_customer.js';
import * as m0019 from './0019_cards.js';
import * as m0020 from './0020_dashboard.js';
import * as m0021 from './0021_segment_tag_cover.js';
import * as m0022 from './0022_import_changes.js';
import * as m0023 from './0023_rate_limits.js';
import * as m0024 from './0024_outbox_conversation.js';
import * as m0025 from './0025_result_checks.js';

/** Every migration, in order. A new file is added here under its own name; names never change. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_wecom': m0002,
  '0003_customer360': m0003,
  '0004_compliance': m0004,
  '0005_outbox': m0005,
  '0009_segment_speed': m0009,
  '0010_sop': m0010,
  '0011_outbox_dispatch': m0011,
  '0013_kb': m0013,
  '0014_assistant': m0014,
  '0015_replies': m0015,
  '0016_realtime': m0016,
  '0017_outbox_group_claim': m0017,
  '0018_churn_band_on_customer': m0018,
  '0019_cards': m0019,
  '0020_dashboard': m0020,
  '0021_segment_tag_cover': m0021,
  '0022_import_changes': m0022,
  '0023_rate_limits': m0023,
  '0024_outbox_conversation': m0024,
  '0025_result_checks': m0025,
};
