/** Every migration, in order. Registered as classes (no globbing: MikroORM's discovery needs Node 22). */
import { Migration20261124000001_init } from './Migration20261124000001_init.ts';

export const migrationsList = [{ name: 'Migration20261124000001_init', class: Migration20261124000001_init }];
