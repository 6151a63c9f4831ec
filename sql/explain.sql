-- hitl.explain: why a model predicts what it does for a row.  The tickets
-- of the README's Getting Started, and short support messages; numbers
-- rounded to 3 places.

CREATE TABLE tickets (id bigserial PRIMARY KEY, length real, n_links int, from_customer boolean,
					  embedding real[], category text);
INSERT INTO tickets (length, n_links, from_customer, embedding, category)
SELECT 200 * (i % 3) + (i * 37) % 150, (i % 3) * 2 + i % 2, i % 3 = 1,
	   ARRAY[sin(i % 3), cos(i % 3), (i * 7 % 10) / 10.0]::real[],
	   CASE WHEN i <= 60 THEN (ARRAY['billing', 'bug', 'question'])[1 + i % 3] END
FROM generate_series(1, 1000) AS i;
SELECT hitl.create_model('triage', 'tickets', 'category',
						 ARRAY['length', 'n_links', 'from_customer', 'embedding']);

-- a confident prediction: ticket 100
SELECT id, category_prediction, round(category_confidence::numeric, 3) AS confidence
FROM tickets WHERE id = 100;
SELECT feature, round(value::numeric, 3) AS value, round(weight::numeric, 3) AS weight,
	   round(contribution::numeric, 3) AS contribution,
	   round(runner_up_contribution::numeric, 3) AS runner_up_contribution
FROM tickets t, hitl.explain('triage', t) WHERE t.id = 100;
-- the three features that pushed most
SELECT feature, round(contribution::numeric, 3) AS contribution
FROM tickets t, hitl.explain('triage', t, 3) WHERE t.id = 100;

-- the ticket at the head of the review queue, and what pushed its prediction
SELECT t.id, t.category_prediction, round(t.category_confidence::numeric, 3) AS confidence
FROM (SELECT id FROM triage_review_queue ORDER BY rank, id LIMIT 1) q JOIN tickets t USING (id);
SELECT e.feature, round(e.contribution::numeric, 3) AS contribution,
	   round(e.runner_up_contribution::numeric, 3) AS runner_up_contribution
FROM (SELECT id FROM triage_review_queue ORDER BY rank, id LIMIT 1) q JOIN tickets t USING (id),
	 hitl.explain('triage', t, 3) e;

-- text: each term of the row's own text, with its bucket's tf-idf value
CREATE TABLE messages (id int PRIMARY KEY, body text, intent text);
INSERT INTO messages
SELECT g, format('%s %s %s please', w[1 + g % 4], w[1 + (g / 2) % 4], c[1 + g % 3]),
	   CASE WHEN g <= 40 THEN intent END
FROM generate_series(1, 50) g,
	 LATERAL (SELECT (ARRAY['refund', 'login'])[1 + g % 2] AS intent) i,
	 LATERAL (SELECT CASE intent WHEN 'refund' THEN ARRAY['refund', 'charged', 'money', 'invoice']
								 ELSE ARRAY['password', 'login', 'locked', 'reset'] END) w(w),
	 LATERAL (SELECT ARRAY['hello', 'thanks', 'urgent']) c(c);
SELECT hitl.create_model('intent_lr', 'messages', 'intent', '{body}',
						 prediction_column => 'lr_intent', confidence_column => 'lr_confidence',
						 uncertainty_column => 'lr_uncertainty');
SELECT hitl.create_model('intent_nb', 'messages', 'intent', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'nb_intent', confidence_column => 'nb_confidence',
						 uncertainty_column => 'nb_uncertainty');
SELECT body, lr_intent, nb_intent FROM messages WHERE id = 45;
-- logistic regression: the bucket weights of the predicted class
SELECT feature, round(value::numeric, 3) AS value, round(weight::numeric, 3) AS weight,
	   round(contribution::numeric, 3) AS contribution,
	   round(runner_up_contribution::numeric, 3) AS runner_up_contribution
FROM messages m, hitl.explain('intent_lr', m) WHERE m.id = 45;
-- naive Bayes: weight = ln P(term | predicted) - ln P(term | runner-up)
SELECT feature, round(value::numeric, 3) AS value, round(weight::numeric, 3) AS weight,
	   round(contribution::numeric, 3) AS contribution,
	   round(runner_up_contribution::numeric, 3) AS runner_up_contribution
FROM messages m, hitl.explain('intent_nb', m) WHERE m.id = 45;
-- a row written on the spot, with a word no labeled row has
SELECT feature, round(weight::numeric, 3) AS weight, round(contribution::numeric, 3) AS contribution
FROM hitl.explain('intent_nb', ROW(0, 'refund my subscription please', NULL, NULL, NULL, NULL,
								   NULL, NULL, NULL, NULL, NULL)::messages);

-- errors
SELECT * FROM err($$SELECT * FROM hitl.explain('no_such_model', NULL::tickets)$$);
SELECT * FROM err($$SELECT * FROM messages m, hitl.explain('triage', m)$$);
SELECT * FROM err($$SELECT * FROM hitl.explain('triage', NULL::tickets)$$);
SELECT * FROM err($$SELECT * FROM tickets t, hitl.explain('triage', t, 0)$$);

SELECT hitl.drop_model('triage', drop_columns => true);
SELECT hitl.drop_model('intent_lr', drop_columns => true);
SELECT hitl.drop_model('intent_nb', drop_columns => true);
DROP TABLE tickets, messages;
