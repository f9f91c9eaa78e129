export {
  createReconciler,
  describeReconcileState,
  type ReconcileOutcome,
  type Reconciler,
  type ReconcileState,
  reconcileSchedulers,
} from './reconciler.js';
export { type SchedulerRole, startScheduler } from './scheduler.js';
