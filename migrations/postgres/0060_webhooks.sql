-- Webhook deliveries are jobs of kind 'webhook' (README, "Webhooks"): one per event and
-- subscription, with the queue's retries and backoff. `payload` names the subscription and
-- the event and keeps the decision as it was then; never personal data (that is read from
-- the inquiry when the delivery is made, and only for subscriptions that may have it).
ALTER TABLE jobs ADD COLUMN payload TEXT;

-- Tickets other systems opened for a case (the Zammad recipe), one per subscription. Go
-- with the case when it is erased.
CREATE TABLE inquiry_tickets (
    inquiry_id    BIGINT  NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
    subscription  TEXT    NOT NULL,
    -- zammad
    system        TEXT    NOT NULL,
    ticket_id     TEXT    NOT NULL,
    -- The number people see (Zammad's `number`), when the system has one.
    ticket_number TEXT,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (inquiry_id, subscription)
);
