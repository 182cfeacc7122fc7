import { useState } from "react";

/** "Empty the trash", then a second, confirming click that deletes everything in it for good. */
export function EmptyTrash({ onEmpty }: { onEmpty: () => Promise<void> }) {
  const [confirming, setConfirming] = useState(false);
  return confirming ? (
    <button
      type="button"
      className="danger"
      onClick={() => {
        void onEmpty().finally(() => setConfirming(false));
      }}
    >
      Yes, delete all for good
    </button>
  ) : (
    <button type="button" onClick={() => setConfirming(true)}>
      Empty the trash
    </button>
  );
}
