import type { ApplicationRecord, Page, PageRequest } from './records.ts';

export interface ApplicationStore {
  /** Throws HeraldError `conflict` when the uid is taken. */
  insertApplication(app: ApplicationRecord): Promise<void>;
  /** Looks up by id first, then by uid. */
  getApplication(idOrUid: string): Promise<ApplicationRecord | null>;
  /** Lists applications the API shows (internal ones are left out). */
  listApplications(page: PageRequest): Promise<Page<ApplicationRecord>>;
  /** Replaces every field but id and createdAt. Throws `conflict` when the new uid is taken. */
  updateApplication(app: ApplicationRecord): Promise<void>;
  /** Deletes the application and, by cascade, its endpoints, messages, deliveries and attempts. */
  deleteApplication(id: string): Promise<void>;
}
