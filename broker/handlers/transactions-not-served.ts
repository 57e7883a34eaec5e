/**
 * TEMPORARY (replaced by the transaction coordinator before this lands on main): the transaction
 * APIs answered with UNSUPPORTED_VERSION, so the registry is complete while they are built.
 */
import { namedError } from '../error-result.js';

const notServed = () => {
  const { errorCode, errorMessage } = namedError('UNSUPPORTED_VERSION', 'transactions are not served by this build');
  return { errorCode, errorMessage };
};

export const handleAddPartitionsToTxn = async () => ({ ...notServed(), topics: [] });
export const handleAddOffsetsToTxn = async () => notServed();
export const handleEndTxn = async () => notServed();
export const handleWriteTxnMarkers = async () => ({ markers: [] });
export const handleTxnOffsetCommit = async () => ({ ...notServed(), topics: [] });
export const handleDescribeTransactions = async () => ({ transactionStates: [] });
export const handleListTransactions = async () => ({ ...notServed(), transactionStates: [] });
