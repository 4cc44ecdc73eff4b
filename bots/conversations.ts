/**
 * One queue per conversation: a chat's messages are answered one after another, in the order they
 * arrived (a customer who asks three things gets three answers in that order), while different
 * chats proceed side by side.
 */
export class ConversationQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued before it for `conversation`; its failure is the caller's. */
  run<T>(conversation: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(conversation) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(conversation, tail);
    void tail.then(() => {
      if (this.tails.get(conversation) === tail) this.tails.delete(conversation);
    });
    return result;
  }

  /** Resolves when every task queued so far (in every conversation) has finished. */
  async settled(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}
