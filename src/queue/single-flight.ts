/**
 * A task run one at a time: a call while it runs asks for one more run after it (however many calls came),
 * so nothing asked for is missed and runs never pile up. Errors go to `onError`.
 */
export function singleFlight(task: () => Promise<void>, onError: (e: unknown) => void): () => void {
  let running = false;
  let again = false;
  const trigger = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          trigger();
        }
      });
  };
  return trigger;
}
